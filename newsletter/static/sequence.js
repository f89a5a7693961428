/* Sequence step page: the preview frame follows the form as it is typed, by pressing the
   form's own Preview button (which renders the unsaved text into the frame) after each pause
   in typing. Without this file, that button does the same on a click. Nothing is saved. */
(function () {
  "use strict";
  var form = document.querySelector("[data-step-form]");
  var button = form && form.querySelector("[data-step-preview]");
  if (!button || !form.requestSubmit) { return; }
  var timer = null;
  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { form.requestSubmit(button); }, 700);
  }
  form.addEventListener("input", later);
}());
