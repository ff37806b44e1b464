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
        /* An answer may have raised an alert: the coordinator's phone comes back too. */
        var coordinator = holder.querySelector("[data-sim-coordinator]");
        var shown = document.querySelector("[data-sim-coordinator]");
        if (coordinator && shown) { shown.replaceWith(coordinator); }
        enhanceSimulator(fresh);
        var input = fresh.querySelector("input[name=text]");
        if (input) { input.focus(); }
      }).catch(function () {
        form.submit(); /* fall back to an ordinary post */
      });
    });
  }

  /* The flow editor: a gutter of line numbers beside the text (problem lines marked), kept
     in step as the text changes and scrolls. Without this script the plain textarea works. */
  function enhanceEditor(area) {
    var problems = {};
    document.querySelectorAll("a[data-line]").forEach(function (link) {
      problems[parseInt(link.getAttribute("data-line"), 10)] = true;
    });
    var frame = document.createElement("div");
    frame.className = "code-frame";
    var gutter = document.createElement("div");
    gutter.className = "gutter";
    gutter.setAttribute("aria-hidden", "true");
    gutter.setAttribute("data-gutter", "");
    area.parentNode.insertBefore(frame, area);
    frame.appendChild(gutter);
    frame.appendChild(area);
    area.setAttribute("wrap", "off"); /* one text line per number */
    var shown = -1;
    function number() {
      var count = area.value.split("\n").length;
      if (count !== shown) {
        var parts = [];
        for (var i = 1; i <= count; i++) {
          parts.push(problems[i] ? '<span class="bad-line">' + i + "</span>" : String(i));
        }
        gutter.innerHTML = parts.join("\n") + "\n";
        shown = count;
      }
      gutter.scrollTop = area.scrollTop;
    }
    area.addEventListener("input", number);
    area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
    number();
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
        area.dispatchEvent(new Event("scroll"));
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-sim-panel]").forEach(enhanceSimulator);
    document.querySelectorAll("textarea[data-line-numbers]").forEach(enhanceEditor);
    enhanceLineLinks();
  });
})();
