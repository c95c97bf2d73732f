// The loan pages' few lines of script: says on screen that a link was copied (app.js does the
// copying and tells screen readers through the button's name). Nothing here is needed for the
// page to work.
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button) { return; }
  var said = document.getElementById(button.getAttribute("data-copy") + "-copied");
  if (said && navigator.clipboard) {
    said.textContent = button.getAttribute("data-copied") || "";
  }
});
