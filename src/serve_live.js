// Gazette preview: reloads the page when the site was rebuilt, and shows
// the build's errors over the page while there are any. Served by
// `gazette serve` only; never part of a built site.
(function () {
  "use strict";
  var overlay = null;
  function show(text) {
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.id = "gazette-errors";
      overlay.setAttribute("role", "alert");
      overlay.style.cssText = "position:fixed;inset:auto 0 0 0;max-height:60vh;overflow:auto;z-index:2147483647;" +
        "background:#fff4f4;color:#5a0000;border-top:4px solid #a4262c;font:14px/1.5 ui-monospace,monospace;padding:12px 16px;white-space:pre-wrap";
      document.body.appendChild(overlay);
    }
    overlay.textContent = "gazette: the site has errors; the last good build is shown\n\n" + text;
  }
  var source = new EventSource("/__gazette/events");
  source.addEventListener("reload", function () { window.location.reload(); });
  // Only stylesheets changed: load each anew beside the old one, and drop
  // the old one once the new one applies, so the page never flashes.
  source.addEventListener("styles", function (e) {
    var changed = JSON.parse(e.data);
    document.querySelectorAll("link[rel=stylesheet]").forEach(function (link) {
      var url = new URL(link.href, window.location.href);
      if (!changed.some(function (path) { return url.pathname.endsWith(path); })) return;
      var fresh = link.cloneNode();
      url.searchParams.set("gazette-reload", String(Date.now()));
      fresh.href = url.href;
      fresh.addEventListener("load", function () { link.remove(); });
      link.after(fresh);
    });
  });
  source.addEventListener("failed", function (e) { show(e.data); });
})();
