// Steward console: small progressive enhancements. Every page works without
// this script; it only adds "select all" to the inventory's bulk actions.
(function () {
  "use strict";
  function init(root) {
    var all = (root || document).querySelector("#select-all");
    if (all) { all.hidden = false; }
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function () { init(document); });
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.id === "select-all") {
      var form = t.closest("form");
      form.querySelectorAll('input[type=checkbox][name=id]').forEach(function (c) { c.checked = t.checked; });
    }
  });
})();
