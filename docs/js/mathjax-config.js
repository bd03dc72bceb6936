// MathJax 3 configuration for pymdownx.arithmatex (generic mode).
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex"
  }
};

// Re-typeset when Material swaps page content without a reload (instant navigation). The first
// page is typeset by MathJax itself on startup; wait for that before anything else. Do not call
// MathJax.startup.output.clearCache() here: it drops the CommonHTML font rules, and the glyphs
// of the re-typeset formulas then render blank.
document$.subscribe(() => {
  if (!window.MathJax || !MathJax.startup || !MathJax.startup.promise) return;
  MathJax.startup.promise = MathJax.startup.promise.then(() => {
    MathJax.typesetClear();
    MathJax.texReset();
    return MathJax.typesetPromise();
  });
});
