"""The figure: a Bokeh data source holding every layer's coordinates, drawn at the opening layer; the slider's
readout per layer; labels and prompts written as text, never as markup."""

from __future__ import annotations

import json
import re

from lmreport.analyses.hidden_map import view
from lmreport.result import Result
from tests.analyses.helpers import compute

HOSTILE = "<img src=x onerror=alert(1)></script>"
EXAMPLES = {f"a{HOSTILE}": ["The keys to the cabinet", f"The key {HOSTILE}"], "b": ["1, 1, 2, 3", "5, 8, 13 and"]}


def bokeh_source(data: dict, row: int) -> dict:
    """The columns of the chart's data source, from the Bokeh plot the figure embeds."""
    plot = view._plot(data, "fig-1", row)
    return dict(plot.select_one({"name": "fig-1-points"}).data)


def test_the_source_holds_every_layer_and_draws_the_opening_one(gpt2):
    data = compute("hidden_map", gpt2, examples=EXAMPLES, layer=2)
    html = view.render(Result("hidden_map", {}, {"name": "m"}, data), "fig-1").html
    columns = bokeh_source(data, 2)
    for layer, coords in enumerate(data["coords"]):
        assert columns[f"x{layer}"] == [xy[0] for xy in coords] and columns[f"y{layer}"] == [xy[1] for xy in coords]
    assert columns["x"] == columns["x2"] and columns["y"] == columns["y2"]
    assert 'type="range" id="fig-1-layer" class="hidden-map-layer" min="0" max="3" step="1" value="2"' in html
    (payload,) = re.findall(r'<script type="application/json" id="fig-1-map">(.*?)</script>', html, re.S)
    sent = json.loads(payload)
    assert sent["source"] == "fig-1-points" and len(sent["ranges"]) == len(sent["captions"]) == 4
    share = data["variance"][2]
    assert sent["captions"][2] == (f"layer 2 (after block 2): PC1 {share[0]:.0%} and PC2 {share[1]:.0%} of the "
                                   f"variance; separation {data['separation'][2]:.2f}")
    assert sent["captions"][0].startswith("layer 0 (the embeddings)")
    assert sent["captions"][3].startswith("layer 3 (after the last block, before the final norm)")
    x0, x1, y0, y1 = sent["ranges"][1]
    assert all(x0 < x < x1 and y0 < y < y1 for x, y in data["coords"][1])


def test_labels_and_prompts_are_text(gpt2):
    data = compute("hidden_map", gpt2, examples=EXAMPLES)
    html = view.render(Result("hidden_map", {}, {"name": "m"}, data), "fig-1").html
    assert "<img" not in html and "</script>\"" not in html
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)
    assert all("</" not in s.replace("<\\/", "") for s in scripts)
    assert f"a{HOSTILE}" in json.dumps(bokeh_source(data, 3)["label"])  # in the data, for Bokeh to draw as text
