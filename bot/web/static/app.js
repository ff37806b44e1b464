/* Groundswell: a little progressive enhancement. Every page works without this file. */
(function () {
  "use strict";

  /* The simulator: send a reply without reloading the page, then show the new messages. */
  function enhanceSimulator(panel) {
    var screen = panel.querySelector(".screen");
    if (screen) { screen.scrollTop = screen.scrollHeight; }
    var form = panel.querySelector("form[data-sim-reply]");
    if (!form || !window.fetch || !window.FormData) { return; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      if (event.submitter && event.submitter.name) {
        data.append(event.submitter.name, event.submitter.value);
      }
      var buttons = form.querySelectorAll("button");
      buttons.forEach(function (b) { b.disabled = true; });
      fetch(form.action, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" }
      }).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      }).then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("[data-sim-panel]");
        if (!fresh) { throw new Error("no panel"); }
        panel.replaceWith(fresh);
        enhanceSimulator(fresh);
        var input = fresh.querySelector("input[name=text]");
        if (input) { input.focus(); }
      }).catch(function () {
        form.submit(); /* fall back to an ordinary post */
      });
    });
  }

  /* Flow problems: "line 12" moves the cursor in the editor to line 12. */
  function enhanceLineLinks() {
    document.querySelectorAll("a[data-line]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var area = document.getElementById(link.getAttribute("data-target") || "f-source");
        if (!area) { return; }
        event.preventDefault();
        var wanted = parseInt(link.getAttribute("data-line"), 10) || 1;
        var lines = area.value.split("\n");
        var start = 0;
        for (var i = 0; i < wanted - 1 && i < lines.length; i++) { start += lines[i].length + 1; }
        var end = start + (lines[wanted - 1] || "").length;
        area.focus();
        area.setSelectionRange(start, end);
        var lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 20;
        area.scrollTop = Math.max(0, (wanted - 3) * lineHeight);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-sim-panel]").forEach(enhanceSimulator);
    enhanceLineLinks();
  });
})();
