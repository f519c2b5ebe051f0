/* The eligibility rule checked as it is typed: the text goes to the server's own rule parser
   (the same one that checks it when the program is saved) and its problems are shown under the
   field, each at its line and column. Without this script the form shows the same problems
   after "Periksa aturan" or saving. */
(function () {
  "use strict";
  var area = document.querySelector("textarea[data-rule-check]");
  if (!area || !window.fetch || !window.URLSearchParams) { return; }
  var status = document.getElementById("rule-status");
  var token = area.form && area.form.querySelector("input[name=csrf_token]");
  if (!status || !token) { return; }
  var timer = null;
  var asked = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function show(answer) {
    status.textContent = "";
    if (answer.valid) {
      area.removeAttribute("aria-invalid");
      status.appendChild(el("p", "ok", answer.summary));
      return;
    }
    area.setAttribute("aria-invalid", "true");
    var list = el("ul", "rule-problems");
    answer.problems.forEach(function (problem) {
      var item = el("li");
      item.appendChild(el("strong", null, problem.where));
      item.appendChild(document.createTextNode(": " + problem.message));
      item.appendChild(el("pre", "caret", problem.excerpt + "\n" + problem.caret));
      list.appendChild(item);
    });
    status.appendChild(list);
  }

  function check() {
    var mine = ++asked;
    var body = new URLSearchParams();
    body.set("csrf_token", token.value);
    body.set("rule_text", area.value);
    fetch(area.getAttribute("data-rule-check"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      if (answer && mine === asked) { show(answer); }
    }).catch(function () { /* offline: the form still checks on saving */ });
  }

  area.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 300);
  });
})();
