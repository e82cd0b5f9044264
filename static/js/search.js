// Autocomplete for the search box: progressive enhancement (the form works without it).
// Fetches /search/suggest?q=… as the visitor types and lists names to jump to.
(function () {
  "use strict";
  var input = document.querySelector("input[data-suggest-url]");
  if (!input || !window.fetch) return;
  var list = document.getElementById(input.getAttribute("aria-controls"));
  var url = input.getAttribute("data-suggest-url");
  var timer = null;
  var active = -1;
  var controller = null;

  function clear() {
    list.innerHTML = "";
    list.hidden = true;
    active = -1;
    input.removeAttribute("aria-activedescendant");
  }

  function render(items) {
    list.innerHTML = "";
    items.forEach(function (item, i) {
      var li = document.createElement("li");
      li.id = "q-suggestion-" + i;
      li.setAttribute("role", "option");
      var a = document.createElement("a");
      a.href = item.url;
      a.textContent = item.label;
      li.appendChild(a);
      list.appendChild(li);
    });
    list.hidden = items.length === 0;
  }

  function fetchSuggestions() {
    var q = input.value.trim();
    if (!q) { clear(); return; }
    if (controller) controller.abort();
    controller = window.AbortController ? new AbortController() : null;
    fetch(url + "?q=" + encodeURIComponent(q), {
      headers: { Accept: "application/json" },
      signal: controller ? controller.signal : undefined
    })
      .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
      .then(function (data) { render(data.suggestions || []); })
      .catch(function () { /* offline or aborted: the form still submits */ });
  }

  function highlight(index) {
    var options = list.querySelectorAll("li");
    if (!options.length) return;
    active = (index + options.length) % options.length;
    options.forEach(function (li, i) { li.classList.toggle("active", i === active); });
    input.setAttribute("aria-activedescendant", options[active].id);
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(fetchSuggestions, 120);
  });
  input.addEventListener("keydown", function (event) {
    if (list.hidden) return;
    if (event.key === "ArrowDown") { highlight(active + 1); event.preventDefault(); }
    else if (event.key === "ArrowUp") { highlight(active - 1); event.preventDefault(); }
    else if (event.key === "Escape") { clear(); }
    else if (event.key === "Enter" && active >= 0) {
      var link = list.querySelectorAll("li a")[active];
      if (link) { window.location.href = link.href; event.preventDefault(); }
    }
  });
  input.addEventListener("blur", function () { setTimeout(clear, 200); });
})();
