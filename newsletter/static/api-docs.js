// /api/docs: Swagger UI (static/swagger-ui/, swagger-ui-dist 5.36.0, Apache-2.0) on our spec.
// A file rather than an inline script: the CSP allows scripts from this origin only.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
