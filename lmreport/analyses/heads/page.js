// The heads view: clicking a head of the grid draws where it looked from the last token. The tokens and weights
// come from the figure's JSON block; tokens are set as text, never as markup.
(function () {
  // White to blue, opaque, with the text colour of higher contrast: render/common.py's shade_style, the same rule.
  function style(weight) {
    var rgb = [59, 111, 182].map(function (c) { return Math.round(255 + (c - 255) * weight); });
    function channel(c) { c = c / 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); }
    var lum = 0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2]);
    return { background: "rgb(" + rgb.join(",") + ")", color: (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) ? "#000" : "#fff" };
  }
  // `layer` is the block's number as the page shows it, counted from 1; the arrays count from 0.
  function draw(figure, data, layer, head) {
    var box = figure.querySelector(".head-pattern");
    var value = data.contributions[layer - 1][head];
    box.querySelector(".head-pattern-title").textContent = "Layer " + layer + ", head " + head + " (" +
      (value >= 0 ? "+" : "") + value.toFixed(3) + "): attention from the last token";
    var tokens = box.querySelector(".head-tokens");
    tokens.textContent = "";
    data.tokens.forEach(function (token, i) {
      var weight = data.attention[layer - 1][head][i];
      var span = document.createElement("span");
      span.className = "head-token";
      var shade = style(Math.max(0, Math.min(1, weight)));
      span.style.background = shade.background;
      span.style.color = shade.color;
      span.title = token + ": " + weight.toFixed(3);
      span.textContent = token;
      tokens.appendChild(span);
    });
  }
  function start() {
    document.querySelectorAll(".lmreport-heads").forEach(function (figure) {
      var block = figure.querySelector('script[type="application/json"][id$="-heads"]');
      if (!block) { return; }
      var data = JSON.parse(block.textContent);
      figure.querySelectorAll(".head-cell").forEach(function (cell) {
        cell.addEventListener("click", function () {
          figure.querySelectorAll(".head-cell[aria-pressed]").forEach(function (c) { c.removeAttribute("aria-pressed"); });
          cell.setAttribute("aria-pressed", "true");
          draw(figure, data, Number(cell.dataset.layer), Number(cell.dataset.head));
        });
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
