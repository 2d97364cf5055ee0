// MathJax, served from the site's own assets: typeset only what lessons wrote as $math$ (elements of class
// "math"), load nothing more (no autoload, no \require: every request stays inside the site, and \href or
// \class cannot add links or styles), no context menu. MathJax reads its configuration from window.MathJax.
(function () {
  "use strict";

  window.MathJax = {
    // \mmlToken would set any HTML attribute of its output: emptied here (and refused in lessons by the build).
    tex: { packages: { "[-]": ["autoload", "require"] }, macros: { mmlToken: "" } },
    options: { ignoreHtmlClass: "lmreport-page", processHtmlClass: "math", enableMenu: false },
  };
})();
