/* Admin enhancements: compose autosave with live preview, import progress bar, and the
   one way the admin's scripts post to the server (window.newsletterAdmin, which the page
   scripts loaded after this one use). Every page works without this file; it only saves
   clicks. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // A form's fields posted for a JSON answer, with the CSRF token in the header Flask-WTF
  // reads; resolves to the parsed answer.
  function postForJson(url, data) {
    return fetch(url, {
      method: "POST",
      body: data,
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json();
    });
  }

  window.newsletterAdmin = { csrfToken: csrfToken, postForJson: postForJson };

  function describe(errors) {
    return Object.keys(errors || {}).map(function (field) {
      return field + ": " + errors[field].join(" ");
    }).join("; ");
  }

  function setupCompose(form) {
    var panel = document.querySelector("[data-live-preview]");
    var frame = document.querySelector("[data-preview-frame]");
    var text = document.querySelector("[data-preview-text]");
    var problem = document.getElementById("preview-problem");
    var status = document.getElementById("autosave-status");
    var remote = document.querySelector("[data-remote-warning]");
    var timer = null;
    var busy = false;
    var again = false;
    // Someone else saved the draft: only the Save button may replace their version.
    var stopped = form.hasAttribute("data-conflict");
    var submitter = null;
    if (panel) { panel.hidden = false; }

    function show(body) {
      if (form.dataset.autosave !== body.autosave_url) {
        form.dataset.autosave = body.autosave_url;
        form.action = body.edit_url;
        window.history.replaceState(null, "", body.edit_url);
      }
      form.elements.edited_from.value = body.edited_from;
      status.textContent = "Draft saved at " + new Date().toLocaleTimeString() + ".";
      showRemote(body.remote_hosts || [], body.remote_preview_url);
      if (body.problem) {
        // Set only when it changes: an alert's new text is read out on every autosave.
        if (problem.textContent !== body.problem) { problem.textContent = body.problem; }
        problem.hidden = false;
        markBody(true);
        return;
      }
      problem.hidden = true;
      markBody(false);
      var join = body.preview_url.indexOf("?") < 0 ? "?" : "&";
      frame.src = body.preview_url + join + "t=" + Date.now();
      text.textContent = body.text;
    }

    // A template problem in the body is the body field's error (WCAG 3.3.1): the field is
    // marked invalid and described by the message, as the server marks it on a reload.
    function markBody(invalid) {
      var field = form.elements.body_md;
      var ids = (field.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) {
        return id && id !== problem.id;
      });
      if (invalid) { ids.push(problem.id); }
      field.setAttribute("aria-describedby", ids.join(" "));
      field.setAttribute("aria-invalid", invalid ? "true" : "false");
    }

    // The server names the other hosts the mail loads from; the warning says so at once.
    function showRemote(hosts, url) {
      if (!remote) { return; }
      remote.hidden = hosts.length === 0;
      remote.querySelector("[data-remote-hosts]").textContent = hosts.join(", ");
      remote.querySelector("[data-remote-link]").href = url;
    }

    function save() {
      if (stopped) { return; }
      if (busy) { again = true; return; }
      busy = true;
      postForJson(form.dataset.autosave, new FormData(form)).then(function (body) {
        if (body.saved) {
          show(body);
        } else if (body.conflict) {
          stopped = true;
          status.textContent = body.conflict;
        } else {
          status.textContent = "Not saved yet: " + describe(body.errors);
        }
      }).catch(function () {
        status.textContent = "Could not save automatically; use the Save draft button.";
      }).finally(function () {
        busy = false;
        if (submitter) { form.requestSubmit(submitter); } else if (again) { again = false; save(); }
      });
    }

    // A button pressed while an autosave is on its way posts once it has answered, with the
    // version it saved: posted before, it would be refused as someone else's save.
    form.addEventListener("submit", function (event) {
      window.clearTimeout(timer);
      if (!busy) { return; }
      event.preventDefault();
      submitter = event.submitter || null;
      if (!submitter) { submitter = form.querySelector('button[type="submit"]'); }
    });

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(save, 700);
    }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
  }

  function setupProgress(box) {
    if (box.dataset.status === "done" || box.dataset.status === "failed") { return; }
    var bar = document.getElementById("import-bar");
    var state = document.getElementById("import-state");
    function poll() {
      fetch(box.dataset.importProgress, { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (job) {
          bar.max = job.total || 1;
          bar.value = job.done;
          ["accepted", "updated", "rejected"].forEach(function (key) {
            var cell = box.querySelector('[data-count="' + key + '"]');
            if (cell) { cell.textContent = job[key]; }
          });
          if (job.status === "done" || job.status === "failed") {
            window.location.reload();
            return;
          }
          state.textContent = job.status === "running" ? "Importing… " + Math.round(100 * job.done / (job.total || 1)) + "%" : "Waiting to start…";
          window.setTimeout(poll, 700);
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    }
    poll();
  }

  var form = document.getElementById("compose-form");
  if (form) { setupCompose(form); }
  var progress = document.querySelector("[data-import-progress]");
  if (progress) { setupProgress(progress); }
}());
