// The report form: show the chosen product's home county, read-only, beside the choice.
// Progressive enhancement: without it the page shows the home county after a reload.
(function () {
  "use strict";
  var select = document.getElementById("product");
  var line = document.getElementById("home-county");
  if (!select || !line) return;
  var output = line.querySelector("output");
  select.addEventListener("change", function () {
    var option = select.options[select.selectedIndex];
    var county = option ? option.getAttribute("data-home-county") : null;
    output.textContent = county || "";
    line.hidden = !county;
  });
})();
