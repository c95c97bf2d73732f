// Bank statements: the upload's drag and drop and progress bar, and the matching queue's keys.
// No rule lives here: every form works without this file (a plain file field, plain buttons).
"use strict";
(function () {
  // -- the upload: a file dropped on the field, a size checked before sending, the progress --
  function setupUpload(form) {
    var input = form.querySelector("input[type=file]");
    var zone = document.getElementById("dropzone");
    var box = document.getElementById("upload-progress");
    var bar = document.getElementById("upload-bar");
    var status = document.getElementById("upload-status");
    if (!input || !zone) { return; }
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
    function say(message) {
      var error = document.getElementById("file-error");
      if (!error) {
        error = document.createElement("p");
        error.className = "error";
        error.id = "file-error";
        input.parentNode.insertBefore(error, input);
        input.setAttribute("aria-describedby", "file-hint file-error");
      }
      error.textContent = message;
      input.setAttribute("aria-invalid", "true");
      zone.classList.add("has-error");
      input.focus();
    }
    form.addEventListener("submit", function (event) {
      var file = input.files && input.files[0];
      var most = Number(form.dataset.maxBytes || 0);
      if (file && most && file.size > most) {
        event.preventDefault();
        say(form.dataset.tooLarge);
        return;
      }
      if (!file || !window.FormData || !window.XMLHttpRequest || !box) { return; }
      // Sent by XHR for its progress events; the server's answer is then shown as the page.
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
      box.hidden = false;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        var percent = Math.floor((e.loaded / e.total) * 100);
        bar.value = percent;
        status.textContent = (form.dataset.sending || "{p} %").replace("{p}", String(percent));
      });
      xhr.addEventListener("load", function () {
        var url = xhr.responseURL || "";
        if (xhr.status === 200 && url && url.indexOf(form.getAttribute("action")) === -1) {
          window.location.assign(url);  // the import's result (post/redirect/get)
          return;
        }
        // A refusal: the page the server sent, with its error beside the field.
        var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var main = page.getElementById("main");
        var here = document.getElementById("main");
        if (main && here) {
          here.innerHTML = main.innerHTML;
          var again = here.querySelector("form.upload-form");
          if (again) { setupUpload(again); }
          var summary = document.getElementById("error-summary");
          if (summary) { summary.focus(); }
        } else {
          say(form.dataset.failed);
          if (button) { button.disabled = false; }
        }
      });
      xhr.addEventListener("error", function () {
        box.hidden = true;
        if (button) { button.disabled = false; }
        say(form.dataset.failed);
      });
      xhr.send(new FormData(form));
    });
  }

  // -- the queue: j/k (or arrows) between lines, Enter accepts, o/f/s/u for the rest --------
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("li.qline")); }

  function primary(row) {
    // The first suggestion's button; a line with none is focused itself (o, f, s from there).
    return row.querySelector("[data-primary]") || row;
  }

  function currentRow() {
    var active = document.activeElement;
    return active && active.closest ? active.closest("li.qline") : null;
  }

  function go(row) {
    if (!row) { return; }
    rows().forEach(function (r) { r.classList.toggle("current", r === row); });
    var target = primary(row);
    if (target) { target.focus(); }
    row.scrollIntoView({ block: "nearest" });
  }

  function typing(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var list = rows();
    if (!list.length) { return; }
    if (typing(event.target)) {
      // Escape leaves a field for the line's keys again.
      if (event.key === "Escape") { var r = currentRow(); if (r) { r.focus(); } }
      return;
    }
    var row = currentRow() || document.querySelector("li.qline.current") || list[0];
    var i = list.indexOf(row);
    var key = event.key;
    if (key === "j" || key === "ArrowDown") {
      go(list[Math.min(i + 1, list.length - 1)]);
    } else if (key === "k" || key === "ArrowUp") {
      go(list[Math.max(i - 1, 0)]);
    } else if (key === "o") {
      var other = row.querySelector("[data-other]");
      if (other) { other.focus(); }
    } else if (key === "f") {
      var fee = row.querySelector("[data-fee]");
      if (fee) { fee.focus(); }
    } else if (key === "s") {
      var split = row.querySelector("[data-split]");
      if (split) { window.location.assign(split.href); }
    } else if (key === "u") {
      var undo = document.getElementById("undo-last");
      if (undo) { undo.focus(); }
    } else {
      return;
    }
    event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.upload-form");
    if (form) { setupUpload(form); }
    var focused = document.activeElement;
    var row = focused && focused.closest ? focused.closest("li.qline") : null;
    if (row) { row.classList.add("current"); row.scrollIntoView({ block: "nearest" }); }
  });
})();
