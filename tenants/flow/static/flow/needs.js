// Need rows: show the filled rows and one empty row; "add a row" reveals the next hidden one.
// Without a script every row is shown, which works the same.
(function () {
  document.querySelectorAll("[data-need-rows]").forEach(function (box) {
    var rows = Array.prototype.slice.call(box.querySelectorAll(".need-row"));
    var add = box.querySelector("[data-add-need]");
    if (!add || rows.length < 2) return;
    function filled(row) {
      return Array.prototype.some.call(row.querySelectorAll("select, input"), function (el) {
        return el.value.trim() !== "" || el.getAttribute("aria-invalid") === "true";
      });
    }
    var firstEmpty = true;
    rows.forEach(function (row) {
      if (filled(row)) return;
      if (firstEmpty) { firstEmpty = false; return; }
      row.hidden = true;
    });
    function refresh() { add.hidden = !rows.some(function (row) { return row.hidden; }); }
    add.addEventListener("click", function () {
      var next = rows.filter(function (row) { return row.hidden; })[0];
      if (next) { next.hidden = false; next.querySelector("select").focus(); }
      refresh();
    });
    refresh();
  });
})();
