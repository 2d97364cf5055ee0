""""Try your own prompt" under the lessons' topk, logit-lens and attention figures, on a tiny random Llama's course
with the playground on, opened from file:// in headless Chromium: the reader's prompt is drawn by the figure's own
twin (its Bokeh data source and axes, its BertViz data block), and every number equals an independent PyTorch
computation (the Hugging Face model called directly); the twin is sized as grid() sizes one; the figure's own prompt
says how far the page is from the build; the build's figure stays as it was; nothing leaves the page."""

from __future__ import annotations

import json
import os

import pytest
import torch

from lmreport.analyses.logit_lens.view import PHONE_COLUMN, RIGHT_AXIS, TITLE
from lmreport.build import build
from lmreport.views.bokeh import grid
from lmreport.views.figure import display_token
from tests import browser
from tests.conftest import opts, write_lesson
from tests.playground.test_playground_page import _reference, _wait

pytest.importorskip("onnxruntime")

pytestmark = [
    pytest.mark.embedded,  # a browser test: `-m "not embedded"` leaves those out
    pytest.mark.skipif(not browser.available() and not os.environ.get("LMREPORT_REQUIRE_BROWSER"),
                       reason="needs Debian's chromium and chromium-driver"),
]

AUTHOR = "the cat sat"
READER = "a dog <b>ran</b> to the mat and the cat sat on it"
LESSON = f"""# Tried

```lmreport
analysis: topk
id: next
prompt: "{AUTHOR}"
k: 5
temperature: 0.7
```

```lmreport
analysis: logit_lens
id: lens
prompt: "{AUTHOR}"
top: 3
```

```lmreport
analysis: attention
id: attn
prompt: "{AUTHOR}"
views: [heatmap, head]
layer: 2
head: 1
```

```lmreport
analysis: hidden_states
prompt: "{AUTHOR}"
```
"""

# What each twin holds, read from the page: the Bokeh models by the root id of the twin's chart, the attention views'
# data block as written.
READ = """
const box = document.getElementById(arguments[0]);
const holder = box.querySelector(".try-twin");
const root = holder.querySelector("[data-root-id]");
const out = { runs: box.dataset.runs || null, compare: box.querySelector(".try-compare").hidden ? null :
              box.querySelector(".try-compare").textContent,
              status: box.querySelector(".try-status").textContent,
              tokens: box.querySelector(".try-tokens").innerHTML,
              title: (holder.querySelector(".chart-title") || {}).textContent || null };
if (root) {
  const plot = Bokeh.documents.map((d) => d.get_model_by_id(root.dataset.rootId)).find((m) => m);
  const data = plot.renderers[0].data_source.data;
  out.data = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Array.from(v)]));
  out.x_end = plot.x_range.end;
  out.widths = [plot.max_width, plot.min_width];
  out.left = Array.from(plot.left[0].major_label_overrides.values());
  out.below = Array.from(plot.below[0].major_label_overrides.values());
} else {
  const block = holder.querySelector("script[type='application/json']");
  out.block = block ? JSON.parse(block.textContent) : null;
  out.heatmap = holder.querySelectorAll(".heatmap-cell").length;
  // The views' help is the build's figure's, right above: the twin does not say it again.
  out.help_shown = Array.from(holder.querySelectorAll(".view-help")).filter((p) => p.offsetParent !== null).length;
  out.help_above = Array.from(box.closest("figure").querySelectorAll(".view-help"))
    .filter((p) => !box.contains(p) && p.offsetParent !== null).length;
  out.head = holder.querySelectorAll(".bertviz-head svg").length;
}
return out;
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_models):
    root = tmp_path_factory.mktemp("try")
    write_lesson(root / "lessons", "01-tried.md", LESSON)
    (root / "lessons" / "course.yml").write_text("title: Tried\nplayground: fp32\n")
    build(opts(root, model=str(tiny_models["llama"])))
    return root / "site"


def test_each_topk_lens_and_attention_figure_has_a_box_and_the_others_none(site):
    page = (site / "01-tried.html").read_text()
    assert page.count('data-lmr-component="try-prompt"') == 3
    assert 'src="playground/try-prompt.js"' in page
    for name in ("engine.js", "try-prompt.js", "manifest.js", "try-topk.js", "try-logit_lens.js", "try-attention.js"):
        assert (site / "playground" / name).is_file(), name
    # the box starts with the figure's prompt, as text, and the temperature the figure was drawn at
    assert f'class="try-text" rows="2" spellcheck="false">{AUTHOR}</textarea>' in page
    assert 'class="try-temperature" type="number" value="0.7"' in page


def _run(driver, box_id: str, prompt: str) -> dict:
    box = driver.find_element("id", box_id)
    if box.get_attribute("open") is None:
        box.find_element("css selector", "summary").click()
    runs = driver.execute_script("return arguments[0].dataset.runs || '0';", box)
    text = box.find_element("css selector", ".try-text")
    text.clear()
    text.send_keys(prompt)
    box.find_element("css selector", "button[type=submit]").click()
    _wait(driver, f"""const b = document.getElementById("{box_id}");
        return (b.dataset.runs || "0") !== "{runs}" || /Could not/.test(b.querySelector(".try-status").textContent)
          ? true : null;""")
    # the twin's Bokeh document is updated in place; wait a frame for its views
    return _wait(driver, f"""const r = (function () {{ {READ} }}).apply(null, ["{box_id}"]);
        return r.runs ? r : (/Could not/.test(r.status) ? r : null);""")


def _lens_widths(tokens: list[str]) -> list[int]:
    """views/bokeh.py grid() and logit_lens's render() for these positions: [max_width, min_width] after
    bokeh_figure()."""
    fig = grid(title=TITLE, x_labels=tokens, y_labels=["0"], values=[[0.0] * len(tokens)],
               text=[[""] * len(tokens)], hover={}, low=0.0, high=1.0)
    width, min_width = fig.width, fig.min_width
    if min_width > PHONE_COLUMN:
        width, min_width = width + RIGHT_AXIS, min_width + RIGHT_AXIS
    return [width, min(width, max(300, min_width))]


def test_the_readers_prompt_is_drawn_by_each_figures_twin_with_pytorchs_numbers(site, llama):
    ids, next_logits_probs, lens, attentions = _reference(llama, READER)
    tokens = [display_token(t) for t in llama.token_texts(ids)]
    with torch.no_grad():
        logits = llama.model(torch.tensor([ids])).logits[0, -1].double()
    page = site / "01-tried.html"
    before = page.read_text()
    with browser.chromium(1300, 900) as driver:
        driver.get(page.as_uri())
        next_box = _run(driver, "fig-1-try", READER)
        assert next_box["runs"] == "1", next_box["status"]
        lens_box = _run(driver, "fig-2-try", READER)
        attn_box = _run(driver, "fig-3-try", READER)
        same = _run(driver, "fig-1-try", AUTHOR)
        same_lens = _run(driver, "fig-2-try", AUTHOR)
        same_attn = _run(driver, "fig-3-try", AUTHOR)
        errors = browser.console_errors(driver)
        urls, failed = browser.requests_and_failures(driver)
    assert errors == [] and failed == []
    assert all(u.startswith(("file:", "blob:", "data:")) for u in urls), urls  # nothing leaves the page
    # The reader's text is text wherever it lands.
    assert "<b" not in next_box["tokens"] and "&lt;" in next_box["tokens"]

    # topk at the figure's temperature, 0.7: softmax(logits / 0.7), the same tokens in order, the axis 18% past the
    # longest bar, the tokens as axis labels, the title after the reader's prompt.
    probs = torch.softmax(logits / 0.7, -1)
    top = probs.topk(5)
    data = next_box["data"]
    assert data["rank"] == [1, 2, 3, 4, 5]
    assert data["prob"] == pytest.approx(top.values.tolist(), abs=1e-5)
    assert next_box["left"] == [display_token(t) for t in llama.token_texts(top.indices.tolist())]
    assert next_box["x_end"] == pytest.approx(min(1.0, top.values[0].item() * 1.18), abs=1e-5)
    assert next_box["title"].startswith("Next token after “a␣dog") and "temperature 0.7" in next_box["title"]
    assert next_box["compare"] is None  # not the figure's prompt
    assert same["compare"].startswith("The figure's own prompt: 5 of its 5 tokens") and "the same" in same["compare"]

    # logit lens: every layer and position of the reader's prompt, the top token's probability as the colour.
    data = lens_box["data"]
    n, rows = len(ids), len(lens)
    assert len(data["value"]) == n * rows
    for x, y, value in zip(data["x"], data["y"], data["value"], strict=True):
        assert value == pytest.approx(float(lens[y][x].max()), abs=1e-5)
    assert len(lens_box["below"]) == n and lens_box["widths"] == _lens_widths(tokens)
    assert data["layer"][-1].endswith("(output)") and data["input"][:2] == [f"0: {tokens[0]}", f"1: {tokens[1]}"]
    cells = rows * len(llama.encode(AUTHOR))
    agree = f"the top token is the build's in {cells} of {cells} cells"
    assert same_lens["compare"].startswith(f"The figure's own prompt: {agree}")

    # attention: the views drawn anew from the reader's weights, opening on the figure's layer and head.
    block = attn_box["block"]
    assert block["tokens"] == tokens and block["layer"] == 2 and block["head"] == 1
    page_weights = torch.tensor(block["attention"], dtype=torch.float64)
    assert torch.allclose(page_weights, attentions, atol=1e-5)
    assert attn_box["heatmap"] == n * n and attn_box["head"] >= 1
    assert attn_box["help_shown"] == 0 and attn_box["help_above"] >= 1
    assert same_attn["compare"].startswith("The figure's own prompt: every weight is within")
    gap = float(same_attn["compare"].split("within ")[1].split(" ")[0])
    assert gap < 2 / json.loads(before.split('id="fig-3-data">')[1].split("</script>")[0])["packed"]["scale"]

    # The build's figures stay as they were: the page's file is untouched, and each figure's own chart is there.
    assert page.read_text() == before


def test_a_figure_of_another_model_or_a_skipped_block_has_no_box(site):
    """The playground runs the course's first model: a figure drawn on another has nothing to recompute."""
    from lmreport.analyses.topk.view import try_prompt
    from lmreport.result import Result
    from lmreport.site.fragments import try_prompt_html
    from lmreport.site.info import PlacedFigure
    from lmreport.site.pages import environment
    from lmreport.views.figure import Figure

    figure = json.loads((site / "data" / "01-tried-1-topk.json").read_text())
    manifest = json.loads((site / "playground" / "manifest.js").read_text().split(".manifest = ", 1)[1].rstrip(";\n"))
    result = Result("topk", figure["options"], figure["model"], figure["data"])
    lesson = type("L", (), {"slug": "01-tried"})()

    def box(res: Result) -> str:
        placed = PlacedFigure(lesson=lesson, index=0, line=3, title="t", result=res, figure=Figure(html=""))
        return try_prompt_html(environment(), placed, manifest, "float32")

    assert 'data-lmr-component="try-prompt"' in box(result)
    other = Result("topk", figure["options"], {**figure["model"], "name": "another"}, figure["data"])
    assert box(other) == ""
    skipped = Result("topk", figure["options"], figure["model"], {"skipped": "the model has 2 layers"})
    assert box(skipped) == "" and try_prompt(skipped) is None
    # position 1 of the figure's prompt: the box starts with the text up to it, and compares with those ids only
    early = try_prompt(Result("topk", figure["options"], figure["model"], {**figure["data"], "position": 1}))
    assert early.prompt == "".join(figure["data"]["tokens"][:2])
    assert early.options["built"]["ids"] == figure["data"]["input_ids"][:2]


def test_the_page_shows_a_token_as_the_build_does(site):
    """engine.js's show() against views/figure.py's display_token on the tokens that are hard to see: spaces of every
    kind, line breaks and separators, controls, format characters, the empty token."""
    tricky = ["", " Paris", "\n\t\r", "\xa0", "a\u2009b", "\u2028\u2029", "\u3000", "a\x00b\u202e", "café 🙂", "\ufeff"]
    with browser.chromium() as driver:
        driver.get((site / "playground.html").as_uri())  # the page that loads engine.js up front
        shown = driver.execute_script("return arguments[0].map((t) => window.lmreportPlayground.engine.show(t));",
                                      tricky)
    assert shown == [display_token(t) for t in tricky]


def test_every_page_links_to_the_playground_and_it_marks_itself(site):
    """The sidebar's "Try your own prompt" is on every page, the 404 page included, and is the current page's link
    on the playground itself (as a lesson's title is on its lesson)."""
    link = '<a href="{}playground.html"{}>Try your own prompt</a>'
    assert link.format("", ' aria-current="page"') in (site / "playground.html").read_text()
    lesson = (site / "01-tried.html").read_text()
    assert link.format("", "") in lesson and 'class="current" aria-current="page"' in lesson
    assert link.format("", "") in (site / "404.html").read_text()
