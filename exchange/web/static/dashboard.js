// Scroll each document text box to its first line with a finding (no framework, no build).
document.querySelectorAll(".source").forEach(function (box) {
  var row = box.querySelector("tr.flagged");
  if (row) { box.scrollTop = Math.max(0, row.offsetTop - box.clientHeight / 3); }
});
// A refused decision is explained next to its form: bring it into view after the reload.
var refused = document.getElementById("decision-error");
if (refused) { refused.scrollIntoView({block: "center"}); }
