/* The NIK checked as it is typed. The rule lives on the server (registry/nik.py): this script
   only asks the page's own check URL (data-nik-check) and puts the answer beside the field.
   Without JavaScript the same answer appears after the form is posted. */
(function () {
  "use strict";
  var input = document.querySelector("input[data-nik-check]");
  if (!input || !window.fetch) { return; }
  var timer = null;
  var asked = null;
  var controller = null;

  function show(html) {
    var old = document.getElementById("f-nik-check");
    if (!old) { return; }
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    var fresh = holder.content.firstElementChild;
    if (!fresh || fresh.id !== "f-nik-check") { return; }
    old.replaceWith(fresh);
    if (fresh.getAttribute("data-valid") === "0") {
      input.setAttribute("aria-invalid", "true");
    } else {
      input.removeAttribute("aria-invalid");
    }
  }

  function ask(force) {
    var nik = input.value.trim();
    // While typing, wait for all 16 digits; on leaving the field say what is wrong at once.
    if (!nik || (!force && nik.replace(/\D/g, "").length < 16)) { return; }
    if (nik === asked) { return; }
    asked = nik;
    if (controller) { controller.abort(); }
    controller = window.AbortController ? new AbortController() : null;
    var url = input.getAttribute("data-nik-check");
    url += (url.indexOf("?") < 0 ? "?" : "&") + "nik=" + encodeURIComponent(nik);
    fetch(url, {
      credentials: "same-origin",
      headers: { "Accept": "text/html", "X-Requested-With": "fetch" },
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (!response.ok) { asked = null; return null; }
      return response.text();
    }).then(function (html) {
      if (html && input.value.trim() === nik) { show(html); }
    }).catch(function () { asked = null; });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { ask(false); }, 300);
  });
  input.addEventListener("change", function () { ask(true); });
})();
