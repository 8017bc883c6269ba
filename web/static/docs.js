// Starts Swagger UI on the API's own OpenAPI document. A file, not an inline script,
// so the page keeps the app's Content-Security-Policy; no validator badge (it would
// call a server elsewhere).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
