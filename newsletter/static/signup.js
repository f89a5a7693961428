// Progressive enhancement for a signup form embedded on another site (see README, "Embedding").
// It posts JSON, which NEWSLETTER_CORS_ORIGINS allows, and shows the answer in place. Without
// JavaScript, or when the request is refused, the plain form is posted as it is and the visitor
// lands on our "check your inbox" page.
(function () {
  "use strict";

  function payload(form) {
    var data = new FormData(form);
    var body = { email: data.get("email") || "", source: window.location.href };
    ["name", "website", "language"].forEach(function (field) {
      if (data.get(field)) { body[field] = data.get(field); }
    });
    if (form.querySelector("[name=lists]")) { body.lists = data.getAll("lists"); }
    return body;
  }

  function enhance(form) {
    var out = form.querySelector("[data-newsletter-message]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(form.action, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(payload(form)),
        credentials: "omit"
      }).then(function (response) {
        return response.json();
      }).then(function (answer) {
        if (out) { out.textContent = answer.message || answer.error; }
      }).catch(function () {
        form.submit();
      });
    });
  }

  document.querySelectorAll("form[data-newsletter-signup]").forEach(enhance);
}());
