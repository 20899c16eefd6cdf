// Forms with data-confirm="Question?" ask before they submit (no inline onsubmit: the CSP
// allows scripts from this site only).
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
}, true);
