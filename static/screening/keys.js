// Keyboard screening: I/E/M decide, 1-9 pick a reason, N note, U undo, ? help.
(function () {
  function inField(el) {
    return el && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type === "text"));
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (inField(document.activeElement)) {
      if (event.key === "Escape") document.activeElement.blur();
      return;
    }
    var key = event.key.toLowerCase();
    var form = document.getElementById("decide-form");
    if (key === "?") { document.getElementById("keys-help").showModal(); return; }
    if (key === "u") { var undo = document.getElementById("undo-button"); if (undo && !undo.disabled) undo.click(); return; }
    if (!form) return;
    if (key === "n") { event.preventDefault(); form.querySelector("textarea[name=note]").focus(); return; }
    var reason = form.querySelector('input[name=reason][data-key="' + key + '"]');
    if (reason) { reason.checked = !reason.checked; return; }
    var button = form.querySelector('button[data-key="' + key + '"]');
    if (button) { event.preventDefault(); button.click(); }
  });
})();
