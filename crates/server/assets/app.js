// Shuqiao console: progressive enhancement only. Every form works without this script.
(function () {
  "use strict";
  // Ask before destructive actions: <form data-confirm="…">.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var msg = form.getAttribute && form.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      ev.preventDefault();
    }
  });
  // Filters apply as soon as a select changes: <form data-autosubmit>.
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.tagName === "SELECT" && el.form && el.form.hasAttribute("data-autosubmit")) {
      el.form.submit();
    }
  });
  // On a phone the facets start folded so that the results come first.
  if (window.matchMedia && window.matchMedia("(max-width: 760px)").matches) {
    var facets = document.querySelector("details.facets");
    if (facets) { facets.removeAttribute("open"); }
  }
})();
