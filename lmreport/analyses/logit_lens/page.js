// The logit lens (data-lmr-component="logit-lens"): a grid wider than the screen scrolls sideways in its box, and
// opens scrolled to its right end, where the last position's column (the model's prediction) is. It follows the
// grid's size until the reader scrolls away from that end, and again once they scroll back to it.
(function () {
  "use strict";

  window.lmreport.mount("logit-lens", (box) => {
    let following = true;

    function end() {
      return Math.max(0, box.scrollWidth - box.clientWidth);
    }

    function toEnd() {
      if (following && end() > 0 && box.scrollLeft < end() - 1) {
        box.scrollLeft = end();
      }
    }

    box.addEventListener("scroll", () => {
      following = box.scrollLeft >= end() - 1;
    }, { passive: true });
    // The chart is drawn into the box after it is mounted, and the box changes width with the window.
    const sizes = new ResizeObserver(toEnd);
    sizes.observe(box);
    box.querySelectorAll(".bk-figure, .bk-figure > div").forEach((element) => sizes.observe(element));
    new MutationObserver(toEnd).observe(box, { childList: true, subtree: true });
  });
})();
