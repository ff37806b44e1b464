/* Draw the flow diagrams with the vendored Mermaid (no CDN). Labels were escaped by
   survey_flows.graph and Mermaid runs in its "strict" security level. If Mermaid cannot
   run, the page keeps showing the diagram's source text. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.mermaid) { return; }
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
    window.mermaid.run({ querySelector: "pre.mermaid" }).then(function () {
      document.querySelectorAll("[data-diagram-fallback]").forEach(function (note) {
        note.hidden = true;
      });
    }).catch(function () { /* the source stays visible */ });
  });
})();
