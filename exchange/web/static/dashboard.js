// Scroll each document text box to its first line with a finding (no framework, no build).
document.querySelectorAll(".source").forEach(function (box) {
  var row = box.querySelector("tr.flagged");
  if (row) { box.scrollTop = Math.max(0, row.offsetTop - box.clientHeight / 3); }
});
// A refused decision is explained next to its form: bring it into view after the reload.
var refused = document.getElementById("decision-error");
if (refused) { refused.scrollIntoView({block: "center"}); }
// Times on the pages are shown in the reader's own zone: tell the server which it is.
try {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && document.cookie.indexOf("exchange_tz=" + encodeURIComponent(zone)) < 0) {
    document.cookie = "exchange_tz=" + encodeURIComponent(zone) +
      "; path=/ui; max-age=31536000; samesite=strict";
  }
} catch (e) { /* an old browser: times stay in UTC, and the page says so */ }
