// The receipt's print button: shown only where a script can print (the page works without it:
// the browser's own print menu prints the same receipt).
(function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
