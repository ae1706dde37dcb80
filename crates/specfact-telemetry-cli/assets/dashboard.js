// Keeps the dashboard current: polls the report endpoint and swaps in the sections
// whose content changed. It talks only to the server that served the page.
(function () {
  "use strict";
  var every = 2000;
  var last = {};
  var status = document.getElementById("status");
  function show(id, html) {
    var el = document.getElementById(id);
    if (el && last[id] !== html) {
      el.innerHTML = html;
      last[id] = html;
    }
  }
  // "Live: updated 04:35:12 UTC", with the exact instant in the <time> element.
  function updated(now) {
    var iso = now.toISOString().replace(/\.\d+Z$/, "Z");
    var time = document.createElement("time");
    time.dateTime = iso;
    time.title = iso;
    time.textContent = iso.slice(11, 19) + " UTC";
    status.textContent = "Live: updated ";
    status.appendChild(time);
    status.className = "status";
  }
  function poll() {
    fetch("api/report", { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (data) {
        var html = data.html;
        show("period", html.period);
        show("headline", html.headline);
        show("charts", html.charts);
        show("tables", html.tables);
        show("notes", html.notes);
        if (html.recent !== undefined) { show("recent", html.recent); }
        if (html.compare !== undefined) { show("compare", html.compare); }
        document.body.setAttribute("data-events", String(data.report.events));
        updated(new Date());
      })
      .catch(function (e) {
        status.textContent = "Not updating (" + e.message + "); retrying";
        status.className = "status stale";
      })
      .then(function () { setTimeout(poll, every); });
  }
  poll();
})();
