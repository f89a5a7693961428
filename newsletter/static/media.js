/* Images in compose (the button, or a file dropped onto the body: uploaded, then its
   Markdown put at the cursor) and the mail layout's live preview. Both pages work without
   this file: the upload form then opens the Markdown to copy in a new tab, and the layout
   page has a Preview button. The CSRF token comes from admin.js, loaded first. */
(function () {
  "use strict";

  var admin = window.newsletterAdmin;

  function setupUpload(form) {
    var input = document.querySelector("[data-media-file]");
    var body = document.getElementById("body_md");
    var status = document.getElementById("media-status");
    if (!input || !body || !status) { return; }

    function say(message, failed) {
      status.textContent = message;
      status.classList.toggle("field-error", Boolean(failed));
    }

    function altText(name) {
      return name.replace(/\.[^.]*$/, "").replace(/[\[\]_\-]+/g, " ").trim();
    }

    function insert(markdown) {
      var start = body.selectionStart || 0;
      var end = body.selectionEnd || start;
      var before = body.value.slice(0, start);
      var gap = before && !/\n\n$/.test(before) ? (/\n$/.test(before) ? "\n" : "\n\n") : "";
      var text = gap + markdown + "\n";
      body.value = before + text + body.value.slice(end);
      body.selectionStart = body.selectionEnd = start + text.length;
      body.focus();
      body.dispatchEvent(new Event("input", { bubbles: true }));  // autosave and preview
    }

    function upload(file) {
      if (!file) { say("Choose an image file first.", true); return; }
      var data = new FormData();
      data.append("file", file);
      data.append("csrf_token", admin.csrfToken());
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("Accept", "application/json");
      request.setRequestHeader("X-CSRFToken", admin.csrfToken());
      request.upload.onprogress = function (event) {
        if (event.lengthComputable) {
          say("Uploading " + file.name + ": " + Math.round(100 * event.loaded / event.total) + " %");
        }
      };
      request.onload = function () {
        var answer = {};
        try { answer = JSON.parse(request.responseText); } catch (e) { answer = {}; }
        if (request.status === 201 && answer.url) {
          insert("![" + altText(file.name) + "](" + answer.url + ")");
          say("Image added. Describe it between the square brackets for readers who cannot see it.");
          input.value = "";
        } else {
          say(answer.error || "The upload failed (" + request.status + ").", true);
        }
      };
      request.onerror = function () { say("The upload failed: no answer from the server.", true); };
      say("Uploading " + file.name + "…");
      request.send(data);
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      upload(input.files[0]);
    });
    input.addEventListener("change", function () {
      if (input.files.length) { upload(input.files[0]); }
    });
    body.addEventListener("dragover", function (event) {
      if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
        event.preventDefault();
      }
    });
    body.addEventListener("drop", function (event) {
      var files = event.dataTransfer ? event.dataTransfer.files : [];
      if (!files.length) { return; }
      event.preventDefault();
      body.focus();
      upload(files[0]);
    });
  }

  // WCAG relative luminance and contrast, as the server checks them on save.
  function luminance(hex) {
    return [1, 3, 5].map(function (i) {
      var c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    }).reduce(function (sum, c, i) { return sum + c * [0.2126, 0.7152, 0.0722][i]; }, 0);
  }

  function setupLayout(form) {
    var frame = document.querySelector("[data-layout-frame]");
    var status = document.getElementById("layout-status");
    var timer = null;
    if (!frame) { return; }

    function refresh() {
      var query = new URLSearchParams();
      ["site_name", "accent", "footer", "logo"].forEach(function (name) {
        var field = form.elements[name];
        if (field) { query.set(name, field.value); }
      });
      frame.src = form.dataset.previewUrl + "?" + query.toString();
      var accent = form.elements.accent ? form.elements.accent.value : "";
      if (status && /^#[0-9a-fA-F]{6}$/.test(accent)) {
        var ratio = 1.05 / (luminance(accent) + 0.05);
        status.textContent = "Contrast of the accent on white: " + ratio.toFixed(1) + ":1" +
          (ratio < 4.5 ? " (at least 4.5:1 is needed: choose a darker colour)." : ".");
      }
    }

    form.addEventListener("input", function (event) {
      if (event.target.type === "file") { return; }
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 300);
    });
    form.addEventListener("change", function (event) {
      if (event.target.tagName === "SELECT") { refresh(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var upload = document.querySelector("[data-media-upload]");
    if (upload && admin) { setupUpload(upload); }
    var layout = document.querySelector("[data-layout-form]");
    if (layout) { setupLayout(layout); }
  });
})();
