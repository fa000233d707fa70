// Gazette default theme: the few things on a report page that need a script.
// No third-party code, works from file:// and on any static host; every
// feature is optional (buttons stay hidden when scripts do not run).
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");

  function load(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function save(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* storage off: not remembered */ }
  }

  // 字号【大 中 小】: remembered across pages.
  function applyFontSize(size) {
    if (size !== "large" && size !== "small") size = "medium";
    root.setAttribute("data-font-size", size);
    var buttons = document.querySelectorAll("[data-font-size]");
    for (var i = 0; i < buttons.length; i++) {
      if (buttons[i] === root) continue;
      buttons[i].setAttribute("aria-pressed", String(buttons[i].getAttribute("data-font-size") === size));
    }
  }

  // Copy the page address from its field (the field works without script).
  function copyFrom(button) {
    var field = document.getElementById(button.getAttribute("data-target"));
    if (!field) return;
    var status = button.parentNode.querySelector(".copy-status");
    function done() { if (status) status.textContent = button.getAttribute("data-copied") || ""; }
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {});
    } else {
      try { if (document.execCommand("copy")) done(); } catch (e) { /* the text stays selected */ }
    }
  }

  // 长者模式: large type, strong contrast, one column; remembered.
  function applyElder(on) {
    root.classList.toggle("elder", on);
    var buttons = document.querySelectorAll("[data-action=elder]");
    for (var i = 0; i < buttons.length; i++) buttons[i].setAttribute("aria-pressed", String(on));
  }
  if (load("gazette-elder") === "on") root.classList.add("elder");

  document.addEventListener("DOMContentLoaded", function () {
    applyFontSize(load("gazette-font-size"));
    applyElder(load("gazette-elder") === "on");
    document.addEventListener("click", function (event) {
      var target = event.target.closest ? event.target.closest("button") : null;
      if (!target) return;
      var size = target.getAttribute("data-font-size");
      if (size) {
        applyFontSize(size);
        save("gazette-font-size", size);
      } else if (target.getAttribute("data-action") === "elder") {
        var on = !root.classList.contains("elder");
        applyElder(on);
        save("gazette-elder", on ? "on" : "off");
      } else if (target.getAttribute("data-action") === "print") {
        window.print();
      } else if (target.getAttribute("data-action") === "copy") {
        copyFrom(target);
      }
    });
    root.setAttribute("data-ready", "true");
  });
})();
