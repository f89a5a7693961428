// Live figures on the sending-progress page: polls the JSON every second, no reload.
// The page works without this script (reload it, or read the plain-text figures).
(function () {
  "use strict";
  var box = document.querySelector("[data-sending-progress]");
  if (!box) { return; }
  var url = box.getAttribute("data-sending-progress");
  var shownStatus = box.getAttribute("data-status");
  var bar = document.getElementById("sending-bar");

  function eta(seconds) {
    if (seconds === null) { return "unknown"; }
    if (seconds === 0) { return "none"; }
    return "about " + seconds + " s";
  }

  function show(p) {
    box.querySelectorAll("[data-progress]").forEach(function (el) {
      var name = el.getAttribute("data-progress");
      var value = name === "eta" ? eta(p.eta_seconds) : String(p[name]);
      // Only real changes: the status line is a live region, read out when it changes.
      if (el.textContent !== value) { el.textContent = value; }
    });
    if (bar) { bar.max = p.total || 1; bar.value = p.total - p.remaining; }
    // Another state offers other buttons: reload once to show them.
    if (p.status !== shownStatus) { window.location.reload(); return false; }
    return p.status === "sending" || p.status === "paused";
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) { if (p && show(p)) { window.setTimeout(poll, 1000); } })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  if (shownStatus === "sending" || shownStatus === "paused") { window.setTimeout(poll, 1000); }
})();
