// The heads view (data-lmr-component="heads"): clicking a head of the grid draws where it looked from the last
// token. The tokens and weights come from the figure's JSON block; tokens are set as text, never as markup.
(function () {
  "use strict";

  // White to blue, opaque, with the text colour of higher contrast: render/common.py's shade_style, the same rule.
  function shade(weight) {
    const rgb = [59, 111, 182].map((c) => Math.round(255 + (c - 255) * weight));
    function channel(c) {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
    }
    const lum = 0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2]);
    return { background: `rgb(${rgb.join(",")})`, color: (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) ? "#000" : "#fff" };
  }

  // `layer` is the block's number as the page shows it, counted from 1; the arrays count from 0.
  function draw(view, data, layer, head) {
    const box = view.querySelector(".head-pattern");
    const value = data.contributions[layer - 1][head];
    box.querySelector(".head-pattern-title").textContent =
      `Layer ${layer}, head ${head} (${value >= 0 ? "+" : ""}${value.toFixed(3)}): attention from the last token`;
    const tokens = box.querySelector(".head-tokens");
    tokens.textContent = "";
    data.tokens.forEach((token, i) => {
      const weight = data.attention[layer - 1][head][i];
      const span = document.createElement("span");
      const style = shade(Math.max(0, Math.min(1, weight)));
      span.className = "head-token";
      span.style.background = style.background;
      span.style.color = style.color;
      span.title = `${token}: ${weight.toFixed(3)}`;
      span.textContent = token;
      tokens.appendChild(span);
    });
  }

  window.lmreport.mount("heads", (view, data) => {
    if (!data) {
      return;
    }
    view.querySelectorAll(".head-cell").forEach((cell) => {
      cell.addEventListener("click", () => {
        view.querySelectorAll(".head-cell[aria-pressed]").forEach((other) => other.removeAttribute("aria-pressed"));
        cell.setAttribute("aria-pressed", "true");
        draw(view, data, Number(cell.dataset.layer), Number(cell.dataset.head));
      });
    });
  });
})();
