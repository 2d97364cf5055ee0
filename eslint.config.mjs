// ESLint for the pages' own scripts: `npm ci`, then `npx eslint` (run by .ci/run and by
// tests/site/test_page_scripts.py).
// One style for all of them: each file an IIFE in strict mode, const/let, arrow callbacks, double quotes, semicolons;
// they start through window.lmreport (theme.js: ready, mount), and wait on observers, not timers.
import js from "@eslint/js";
import stylistic from "@stylistic/eslint-plugin";
import globals from "globals";

const PAGE_SCRIPTS = ["lmreport/site/static/*.js", "lmreport/analyses/*/page.js", "lmreport/analyses/*/try.js",
                      "lmreport/playground/static/*.js"];
const READY = "start with window.lmreport.ready or window.lmreport.mount (theme.js)";
const OBSERVE = "wait on what changes (ResizeObserver, MutationObserver), not on time";

export default [
  {
    // Only the page scripts (and this file) are ours to lint: no other JavaScript in the tree (vendored packages in
    // .venv/, built sites) is.
    ignores: [
      ".venv/", "build/", "dist/", "site/", ".site.*", ".lmreport-cache/", "**/*.egg-info/",
      "**/*.js", "**/*.mjs", "**/*.cjs", ...PAGE_SCRIPTS.map((glob) => `!${glob}`), "!eslint.config.mjs",
    ],
  },
  js.configs.recommended,
  {
    files: ["**/*.js", "**/*.mjs"],
    plugins: { "@stylistic": stylistic },
    rules: {
      "@stylistic/arrow-parens": ["error", "always"],
      "@stylistic/brace-style": ["error", "1tbs"],
      "@stylistic/comma-dangle": ["error", "always-multiline"],
      "@stylistic/comma-spacing": "error",
      "@stylistic/eol-last": "error",
      "@stylistic/indent": ["error", 2, { ArrayExpression: "first", ObjectExpression: "first",
                                          CallExpression: { arguments: "first" }, flatTernaryExpressions: true }],
      "@stylistic/keyword-spacing": "error",
      "@stylistic/max-len": ["error", { code: 120, ignoreUrls: true }],
      "@stylistic/no-multiple-empty-lines": ["error", { max: 1 }],
      "@stylistic/no-trailing-spaces": "error",
      "@stylistic/quote-props": ["error", "as-needed"],
      "@stylistic/quotes": ["error", "double", { avoidEscape: true }],
      "@stylistic/semi": ["error", "always"],
      "@stylistic/space-before-blocks": "error",
      "@stylistic/space-before-function-paren": ["error",
                                                 { anonymous: "always", named: "never", asyncArrow: "always" }],
      "@stylistic/space-infix-ops": "error",
      camelcase: ["error", { properties: "never" }],
      curly: ["error", "all"],
      eqeqeq: "error",
      "func-style": ["error", "declaration", { allowArrowFunctions: true }],
      "no-shadow": "error",
      "no-var": "error",
      "object-shorthand": "error",
      "prefer-arrow-callback": "error",
      "prefer-const": "error",
    },
  },
  {
    files: PAGE_SCRIPTS,
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: "script",
      globals: globals.browser,
    },
    rules: {
      strict: ["error", "function"],
      "no-implicit-globals": "error",
      // One ready helper, in theme.js (window.lmreport.ready); layout is waited for with Resize- and
      // MutationObservers, not timers.
      "no-restricted-properties": ["error",
                                   { object: "document", property: "readyState", message: READY },
                                   { object: "window", property: "setTimeout", message: OBSERVE },
                                   { object: "window", property: "setInterval", message: OBSERVE }],
      "no-restricted-globals": ["error", { name: "setTimeout", message: OBSERVE },
                                { name: "setInterval", message: OBSERVE }],
      "no-restricted-syntax": ["error",
                               { selector: "Literal[value='DOMContentLoaded']", message: READY }],
    },
  },
  {
    // The ready helper itself.
    files: ["lmreport/site/static/theme.js"],
    rules: { "no-restricted-properties": "off", "no-restricted-syntax": "off" },
  },
  {
    // `lmreport serve` polls its server: there, time is the point.
    files: ["lmreport/site/static/live-reload.js"],
    rules: { "no-restricted-globals": "off" },
  },
];
