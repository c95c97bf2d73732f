// The verify page: a run reads the whole journal and may take minutes on a large fund; while it
// runs, the button is disabled (one run at a time) and a line says it is working. No rule here.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.busy) { return; }
  var note = document.getElementById(form.dataset.busy);
  if (note) { note.hidden = false; }
  var button = form.querySelector("button[type=submit]");
  if (button) {
    // Disabled after the submission has started, so the form is still sent.
    window.setTimeout(function () { button.disabled = true; }, 0);
  }
});
