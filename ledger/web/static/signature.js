// The contract page's script: the signature pad, and the scan's size checked before upload.
// No rule lives here: the server checks the drawing, the name, "read and approved" and the file.
// Served as a file (the CSP forbids inline code); without it the page still says what to do.
"use strict";
(function () {
  var INK = "#0b1f4d";

  // A <canvas data-signature-input="ID"> is a pad: drawn on with a mouse, a finger or a pen
  // (pointer events), its drawing goes into the hidden input ID as a PNG data URL on submit.
  function setUpPad(canvas) {
    var input = document.getElementById(canvas.dataset.signatureInput || "");
    var status = document.getElementById(canvas.dataset.signatureStatus || "");
    var form = canvas.closest("form");
    var context = canvas.getContext("2d");
    if (!input || !form || !context) { return; }
    var drawn = false;
    var last = null;
    var activePointer = null;

    context.lineCap = "round";
    context.lineJoin = "round";
    context.strokeStyle = INK;
    context.fillStyle = INK;

    function say(key) {
      if (status) { status.textContent = status.dataset[key] || ""; }
    }

    // The canvas keeps its own resolution (900 x 300) whatever its width on screen.
    function point(event) {
      var box = canvas.getBoundingClientRect();
      return {
        x: (event.clientX - box.left) * (canvas.width / box.width),
        y: (event.clientY - box.top) * (canvas.height / box.height),
        width: lineWidth(event, box)
      };
    }

    function lineWidth(event, box) {
      var scale = canvas.width / Math.max(box.width, 1);
      var base = 2.2 * Math.max(scale, 1);
      // A pen presses harder or softer; a mouse and a finger give 0.5 (or 0 when unknown).
      var pressure = event.pointerType === "pen" && event.pressure > 0 ? event.pressure : 0.5;
      return base * (0.6 + pressure * 0.8);
    }

    function dot(p) {
      context.beginPath();
      context.arc(p.x, p.y, p.width / 2, 0, Math.PI * 2);
      context.fill();
    }

    function line(from, to) {
      context.beginPath();
      context.lineWidth = to.width;
      context.moveTo(from.x, from.y);
      context.lineTo(to.x, to.y);
      context.stroke();
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (event.button !== undefined && event.button > 0) { return; }
      event.preventDefault();
      activePointer = event.pointerId;
      try {
        // Keeps the stroke when a finger slides off the pad; not every pointer can be captured.
        canvas.setPointerCapture(event.pointerId);
      } catch (ignored) { /* drawing works without it */ }
      last = point(event);
      dot(last);
      if (!drawn) {
        drawn = true;
        say("drawn");
      }
    });

    canvas.addEventListener("pointermove", function (event) {
      if (event.pointerId !== activePointer || last === null) { return; }
      event.preventDefault();
      var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      if (!events.length) { events = [event]; }
      for (var i = 0; i < events.length; i++) {
        var next = point(events[i]);
        line(last, next);
        last = next;
      }
    });

    function stop(event) {
      if (event.pointerId !== activePointer) { return; }
      activePointer = null;
      last = null;
    }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    canvas.addEventListener("lostpointercapture", stop);

    var clear = form.querySelector("[data-signature-clear='" + canvas.id + "']");
    if (clear) {
      clear.addEventListener("click", function () {
        context.clearRect(0, 0, canvas.width, canvas.height);
        drawn = false;
        input.value = "";
        say("empty");
      });
    }

    form.addEventListener("submit", function () {
      // Nothing drawn sends nothing: the server then says so, in the reader's language.
      input.value = drawn ? canvas.toDataURL("image/png") : "";
    });

    say("empty");
  }

  // A file input with data-max-bytes refuses a larger file before it is sent (the server
  // would refuse it too, after the wait).
  function setUpFileLimit(fileInput) {
    var form = fileInput.form;
    var limit = parseInt(fileInput.dataset.maxBytes || "0", 10);
    var message = document.getElementById(fileInput.id + "-js-error");
    if (!form || !limit || !message) { return; }

    function tooLarge() {
      var file = fileInput.files && fileInput.files[0];
      return Boolean(file && file.size > limit);
    }

    function show(refused) {
      message.textContent = refused ? (fileInput.dataset.tooLarge || "") : "";
      message.hidden = !refused;
      if (refused) {
        fileInput.setAttribute("aria-invalid", "true");
      } else {
        fileInput.removeAttribute("aria-invalid");
      }
    }

    fileInput.addEventListener("change", function () { show(tooLarge()); });
    form.addEventListener("submit", function (event) {
      if (tooLarge()) {
        event.preventDefault();
        show(true);
        fileInput.focus();
      }
    });
  }

  function start() {
    var pads = document.querySelectorAll("canvas[data-signature-input]");
    for (var i = 0; i < pads.length; i++) { setUpPad(pads[i]); }
    var files = document.querySelectorAll("input[type=file][data-max-bytes]");
    for (var j = 0; j < files.length; j++) { setUpFileLimit(files[j]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
