// The segment builder's live count: as the rules change, the form as it stands is posted to
// the count endpoint (nothing is saved) and the answer replaces the text of the polite live
// region, so a screen reader reads it out once typing pauses. Without this script the
// Count button does the same by reloading the page. admin.js, loaded first, does the posting.
(function () {
  "use strict";
  var form = document.querySelector("form[data-count-url]");
  var out = document.getElementById("segment-count");
  var admin = window.newsletterAdmin;
  if (!form || !out || !admin) { return; }
  var timer = null;
  var asked = 0;

  function say(text) {
    if (out.textContent !== text) { out.textContent = text; }
  }

  function count() {
    var mine = ++asked;  // only the answer to the latest question is shown
    admin.postForJson(form.getAttribute("data-count-url"), new FormData(form)).then(function (body) {
      if (mine !== asked) { return; }
      say(body.error ? "Not counted yet: " + body.error : body.text);
    }).catch(function () {
      if (mine === asked) { say("Could not count just now; use the Count button."); }
    });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(count, 500);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
}());
