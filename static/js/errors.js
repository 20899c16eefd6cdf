// A request made by htmx that fails (an error status, or no answer at all) is said in a banner
// at the top of the page, so nobody takes a click that did nothing for a saved one. The text is
// the server's X-Error-Message when it sent one (e.g. the 503 of an unreachable database).
(function () {
  function show(text) {
    let banner = document.getElementById("request-error");
    if (!banner) {
      banner = document.createElement("p");
      banner.id = "request-error";
      banner.className = "error request-error";
      banner.setAttribute("role", "alert");
      banner.dataset.testid = "request-error";
      document.body.prepend(banner);
    }
    banner.textContent = text;
  }
  document.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    show(xhr.getResponseHeader("X-Error-Message") ||
      "The request failed (" + xhr.status + "). Reload the page to see what was saved.");
  });
  document.addEventListener("htmx:sendError", function () {
    show("The server could not be reached, so what you just did may not have been saved. " +
      "Reload the page when the connection is back.");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const banner = document.getElementById("request-error");
    if (banner && event.detail.successful) banner.remove();
  });
})();
