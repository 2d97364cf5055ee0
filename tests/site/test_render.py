"""Renderers: user text stays text, tokens are readable, JSON cannot break out of <script>."""

import json
import re

from lmreport.analyses import render
from lmreport.api import standalone_html
from lmreport.result import Result
from lmreport.views.figure import display_token, script_json

HOSTILE = "</script><script>alert(1)</script><img src=x onerror=alert(1)>\"'&"


def test_script_json_cannot_close_the_script_and_round_trips():
    text = script_json({"t": HOSTILE + "\u2028<!--"})
    assert "<" not in text and ">" not in text and "\u2028" not in text
    assert json.loads(text) == {"t": HOSTILE + "\u2028<!--"}


def test_display_token_makes_spaces_and_controls_visible():
    assert display_token(" Paris") == "␣Paris"
    assert display_token("\n\t") == "↵⇥"
    assert display_token("") == "∅"
    # Other spaces and line separators would draw nothing, or break the line: spelt out like control characters.
    assert display_token("\xa0") == "\\xa0" and display_token("a\u2009b") == "a\\u2009b"
    assert display_token("\u2028\u3000") == "\\u2028\\u3000"
    assert display_token("a\x00b\u202e") == "a\\x00b\\u202e"
    assert display_token("café 🙂") == "café␣🙂"


def attention_result(tokens):
    from lmreport.analyses.attention.packing import pack_attention

    n = len(tokens)
    attn = [[[[1.0 / (q + 1) if k <= q else 0.0 for k in range(n)] for q in range(n)] for _ in range(2)]]
    return Result(
        "attention",
        {"prompt": "p"},
        {"name": "m"},
        {"tokens": tokens, "attention": attn, "packed": pack_attention(attn), "views": ["head", "model"], "layer": 0},
    )


def test_attention_fragment_holds_tokens_only_as_escaped_json():
    figure = render(attention_result(["a", HOSTILE]), "fig-1")
    assert figure.assets == {"bertviz"}
    assert "<img" not in figure.html and "alert(1)</script>" not in figure.html
    data = re.search(r'<script type="application/json" id="fig-1-data">(.*?)</script>', figure.html).group(1)
    assert json.loads(data)["tokens"][1] == display_token(HOSTILE)
    assert 'id="fig-1-head" data-lmr-component="head" data-lmr-data="fig-1-data"' in figure.html
    assert 'id="fig-1-model" data-lmr-component="model" data-lmr-data="fig-1-data"' in figure.html


def test_bokeh_fragments_keep_hostile_tokens_out_of_markup():
    preds = [
        {"rank": 1, "id": 5, "token": HOSTILE, "prob": 0.6, "logit": 2.0},
        {"rank": 2, "id": 6, "token": " ok", "prob": 0.4, "logit": 1.0},
    ]
    result = Result(
        "topk",
        {"prompt": HOSTILE},
        {"name": "m"},
        {"tokens": ["x", HOSTILE], "position": 1, "predictions": preds, "entropy": 0.6},
    )
    html = render(result, "fig-1").html
    assert "<img" not in html and "<script>alert" not in html
    lens = Result(
        "logit_lens",
        {"prompt": "p"},
        {"name": "m"},
        {
            "tokens": [HOSTILE],
            "layers": ["embeddings", "layer 1"],
            "top_ids": [[[1]], [[2]]],
            "top_tokens": [[[HOSTILE]], [[HOSTILE]]],
            "top_probs": [[[0.5]], [[0.9]]],
        },
    )
    html = render(lens, "fig-2").html
    assert "<img" not in html and "<script>alert" not in html


def test_standalone_html_inlines_its_scripts():
    html = standalone_html(attention_result(["a", "b"]))
    assert "window.lmreportBertviz" in html and "jQuery" in html
    assert not re.search(r"<script[^>]+src=", html)


OPTIONS = {
    "compare_prompts": {"prompts": [HOSTILE, "The key"], "tokens": [" the", " is"], "ratio": [" the", " is"]},
    "compare_tokens": {"prompt": HOSTILE, "tokens": [" the", " is"]},
    "rank_evolution": {"prompt": HOSTILE, "tokens": [" the"]},
    "generate": {"prompt": HOSTILE, "new_tokens": 3, "attention": True},
    "ablation": {"prompt": HOSTILE, "tokens": [" the"]},
    "attribution": {"prompt": HOSTILE, "methods": ["occlusion", "gradient_x_input"]},
    "patching": {"prompt": HOSTILE, "replace": ["alert(1)", "alert(2)"]},
    "probe": {"examples": {"<script>alert(1)</script>": [HOSTILE, "The key"], "b": ["The keys", "Alice gave"]},
              "folds": 2},
}


def test_every_analysis_renders_hostile_text_as_text(gpt2):
    """Every renderer, fed real results for a prompt full of markup, puts none of it into the page as markup."""
    from lmreport import analyses

    for name, analysis in analyses.REGISTRY.items():
        options = analysis.parse_options(OPTIONS.get(name, {"prompt": HOSTILE}))
        data = analysis.compute(gpt2.forward(analysis.prompts(options)[0]), options, gpt2)
        html = render(Result(name, options, {"name": "m"}, data), "fig-1").html
        assert "<img" not in html and "<script>alert" not in html and "onerror=alert(1)>" not in html, name
        if name == "topk":  # the title carries the prompt: it is there, escaped
            assert "alert(1)" in html
        scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)
        assert all("</" not in s.replace("<\\/", "") for s in scripts), name


def unpack(packed):
    """The page's decoding (bertviz-glue.js unpack), written again here."""
    import base64

    raw = base64.b64decode(packed["bytes"])
    layers, heads, n = packed["shape"]
    out, k = [], 0
    for _ in range(layers):
        layer = []
        for _ in range(heads):
            rows = []
            for i in range(n):
                row = [0.0] * n
                for j in range((i if packed["triangle"] else n - 1) + 1):
                    row[j] = raw[k] / packed["scale"]
                    k += 1
                rows.append(row)
            layer.append(rows)
        out.append(layer)
    assert k == len(raw)
    return out


def test_attention_goes_to_the_page_as_bytes_within_half_a_step():
    import random

    from lmreport.analyses.attention.packing import pack_attention

    random.seed(0)
    n = 7
    causal = [[[[random.random() if k <= q else 0.0 for k in range(n)] for q in range(n)] for _ in range(3)]
              for _ in range(2)]
    packed = pack_attention(causal)
    assert packed["triangle"] and packed["shape"] == [2, 3, n]
    assert len(packed["bytes"]) == 4 * -(-(2 * 3 * n * (n + 1) // 2) // 3)  # base64 of the triangle only
    back = unpack(packed)
    assert worst_gap(causal, back) <= 0.5 / 255 + 1e-12
    full = [[[[random.random() for _ in range(n)] for _ in range(n)]]]  # an encoder: every key
    packed = pack_attention(full)
    assert not packed["triangle"]
    assert worst_gap(full, unpack(packed)) <= 0.5 / 255 + 1e-12


def worst_gap(a, b):
    import numpy as np

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    return float(np.abs(a - b).max())
