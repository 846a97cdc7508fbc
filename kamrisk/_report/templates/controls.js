// What the report's and the review's tables share, inlined before each page's own script: the order a
// click on a header gives, missing values last, and the wiring of the headers, filters and search box.
var kamriskTable = (function () {
  "use strict";

  // Marks ``header`` as the sorted column and returns 1 (ascending) or -1 (descending): a second click
  // turns the order round; the first sorts numbers from the largest, texts from A.
  function direction(header, headers) {
    var numeric = header.getAttribute("data-sort") === "num";
    var current = header.getAttribute("aria-sort");
    var next = current === "descending" ? "ascending" : current === "ascending" ? "descending"
      : numeric ? "descending" : "ascending";
    headers.forEach(function (other) {
      other.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", next);
    return next === "ascending" ? 1 : -1;
  }

  function compare(x, y, sign, numeric, collator) {
    if (x === null || y === null) {
      return (x === null) - (y === null);  // missing values last, either way
    }
    return sign * (numeric ? x - y : collator.compare(x, y));
  }

  function wire(headers, selects, search, sortBy, applyFilters) {
    headers.forEach(function (header) {
      if (!header.hasAttribute("data-sort")) {
        return;
      }
      header.tabIndex = 0;
      header.addEventListener("click", function () {
        sortBy(header);
      });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(header);
        }
      });
    });
    selects.forEach(function (select) {
      select.addEventListener("change", applyFilters);
    });
    if (search) {
      search.addEventListener("input", applyFilters);
    }
    applyFilters();
  }

  return {direction: direction, compare: compare, wire: wire};
})();
