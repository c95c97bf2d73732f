// fundledger's own few lines of script: no business rule lives here, and every page works
// without it (a full reload does what htmx does). Served as a file: the CSP forbids inline code.
"use strict";
document.documentElement.classList.add("js");
document.addEventListener("change", function (event) {
  // A select marked "autosubmit" (the language menu) submits its form when changed.
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.classList.contains("autosubmit") && target.form) {
    target.form.requestSubmit();
  }
});
document.addEventListener("click", function (event) {
  // A button marked data-copy copies the value of the element it names (a personal link).
  var button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button) { return; }
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.value || source.textContent || "");
    button.setAttribute("aria-label", button.getAttribute("data-copied") || "Copied");
  }
});
document.addEventListener("submit", function (event) {
  // A form marked data-confirm asks first, in words that say what will happen.
  var form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
});
