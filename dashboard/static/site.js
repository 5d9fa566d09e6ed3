// The site page's few behaviours; the page works without them. No data
// from the page is ever inserted as HTML.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Apply the range as soon as it is picked.
  document.querySelectorAll("select.autosubmit").forEach(function (sel) {
    sel.addEventListener("change", function () {
      if (sel.value !== "custom") sel.form.submit();
    });
  });
  document.querySelectorAll(".js-hide").forEach(function (el) { el.hidden = true; });
  // A click anywhere on a breakdown row follows its filter link.
  document.querySelectorAll("tr[data-href]").forEach(function (tr) {
    tr.addEventListener("click", function (ev) {
      if (ev.target.closest("a")) return;
      var href = tr.getAttribute("data-href");
      if (href.charAt(0) === "/" && href.charAt(1) !== "/" && href.charAt(1) !== "\\") {
        window.location.assign(href);
      }
    });
  });
});
