// Scroll each document text box to its first line with a finding (no framework, no build).
document.querySelectorAll(".source").forEach(function (box) {
  var row = box.querySelector("tr.flagged");
  if (row) { box.scrollTop = Math.max(0, row.offsetTop - box.clientHeight / 3); }
});
