/* A job's progress moving in place. The figures and their words come from the server (the
   job's status URL, data-job-status); this script only puts them into the page: the <progress>
   bar, rows done of the total, good and bad rows so far, the job's message. When the job has
   ended the page is loaded again to show its result and files. Without JavaScript the page
   refreshes itself instead (a <noscript> refresh). */
(function () {
  "use strict";
  var box = document.getElementById("job-progress");
  if (!box || !window.fetch || box.getAttribute("data-job-finished") === "1") { return; }
  var url = box.getAttribute("data-job-status");
  var every = (parseInt(box.getAttribute("data-refresh"), 10) || 2) * 1000;
  var bar = document.getElementById("job-bar");
  var counts = box.querySelector("[data-job-counts]");
  var message = document.getElementById("job-message");
  var failures = 0;

  function put(name, text) {
    var el = box.querySelector('[data-job="' + name + '"]');
    if (el && text !== null && text !== undefined && el.textContent !== text) { el.textContent = text; }
  }

  function show(state) {
    if (state.total) {
      bar.max = state.total;
      bar.value = state.done;
    } else if (state.finished) {
      bar.max = 100;
      bar.value = 100;
    } else {
      bar.removeAttribute("value"); // no total yet: a bar that says "working"
    }
    bar.textContent = (state.percent || 0) + "%";
    put("status_text", state.status_text);
    put("rows_text", state.rows_text);
    put("message", state.message);
    var badge = box.querySelector('[data-job="status_text"]');
    if (badge) { badge.className = "badge " + (state.badge || ""); }
    if (message) { message.className = state.held ? "warn-box" : ""; }
    if (state.good !== null && state.good !== undefined) {
      put("good_text", state.good_text);
      put("bad_text", state.bad_text);
      if (counts) { counts.hidden = false; }
    }
  }

  function look() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (state) {
        failures = 0;
        show(state);
        if (state.finished) {
          window.setTimeout(function () { window.location.reload(); }, 600);
        } else {
          window.setTimeout(look, every);
        }
      })
      .catch(function () {
        // A weak connection: try again, less and less often; the page still works on reload.
        failures += 1;
        if (failures < 20) { window.setTimeout(look, every * Math.min(failures + 1, 10)); }
      });
  }

  window.setTimeout(look, every);
})();
