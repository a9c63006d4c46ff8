// The API reference at /docs: the vendored Swagger UI (static/vendor/swagger-ui) over the served
// /openapi.json. "Authorize" takes an API key; "Try it out" then calls this server with it.
window.addEventListener("DOMContentLoaded", () => {
  window.ui = window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger",
    deepLinking: true,
    persistAuthorization: false,
    tryItOutEnabled: false,
    validatorUrl: null, // no call to an outside validator: the page works offline
  });
});
