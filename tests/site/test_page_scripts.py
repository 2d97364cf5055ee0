"""The pages' own JavaScript: ESLint passes (where `npm ci` has installed it), every script starts through the one
ready helper (theme.js's window.lmreport), and figure views are mounted from data-lmr-component, not inline scripts."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from lmreport.views.bertviz import _view, views_html

ROOT = Path(__file__).resolve().parents[2]
ESLINT = ROOT / "node_modules" / ".bin" / "eslint"
STATIC = ROOT / "lmreport" / "site" / "static"
SCRIPTS = sorted([*STATIC.glob("*.js"), *(ROOT / "lmreport" / "analyses").glob("*/page.js")])


@pytest.mark.skipif(not ESLINT.exists(), reason="ESLint is not installed here: `npm ci` at the repository root")
def test_page_scripts_pass_eslint():
    done = subprocess.run([str(ESLINT), "--max-warnings", "0"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_one_ready_helper_and_no_timers_waiting_for_layout():
    assert {p.name for p in SCRIPTS} >= {"theme.js", "search.js", "bertviz-glue.js", "page.js"}
    for path in SCRIPTS:
        text = path.read_text(encoding="utf-8")
        assert text.lstrip().startswith("//") and '"use strict";' in text, path
        if path.name != "theme.js":
            assert "readyState" not in text and "DOMContentLoaded" not in text, path
        if path.name != "live-reload.js":
            assert "setTimeout" not in text and "setInterval" not in text, path


def test_bertviz_views_are_mounted_from_their_attributes():
    from lmreport.analyses.attention.packing import pack_attention

    n = 3
    attention = [[[[1.0 / (q + 1) if k <= q else 0.0 for k in range(n)] for q in range(n)] for _ in range(2)]]
    html = views_html({"tokens": ["a", "b", "c"], "attention": attention, "packed": pack_attention(attention),
                       "layer": 1, "views": ["head", "model", "heatmap"]}, "fig-1")
    html += _view("neuron", "fig-2-data", "fig-2-neuron", "")
    assert re.findall(r"<script\b[^>]*>", html) == ['<script type="application/json" id="fig-1-data">']
    found = re.findall(r'id="([^"]+)" data-lmr-component="(\w+)" data-lmr-data="([^"]+)"', html)
    assert found == [("fig-1-head", "head", "fig-1-data"), ("fig-1-model", "model", "fig-1-data"),
                     ("fig-1-heatmap", "heatmap", "fig-1-data"), ("fig-2-neuron", "neuron", "fig-2-data")]
    mounted = set()
    for path in SCRIPTS:
        mounted |= set(re.findall(r'(?:lmreport\.mount|mountView)\("([\w-]+)"', path.read_text(encoding="utf-8")))
    assert mounted >= {"head", "model", "neuron", "heatmap", "heads", "flow"}
