"""Figures whose numbers are one table also offer them as CSV: the same numbers as the JSON, and no cell a
spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import json

from lmreport.build import BuildOptions, build
from lmreport.site.tables import csv_text
from tests.conftest import write_lesson


def test_csv_beside_json_for_tabular_figures(tmp_path, tiny_models):
    lesson = (
        "# A\n\n```lmreport\nanalysis: topk\nprompt: \"=cmd|' /C calc'!A0 is\"\nk: 3\n```\n\n"
        "```lmreport\nanalysis: ablation\nprompt: The key is on the\ntokens: [\" the\"]\n```\n\n"
        "```lmreport\nanalysis: attribution\nprompt: The key is\nmethods: [occlusion]\n```\n\n"
        "```lmreport\nanalysis: logit_lens\nprompt: The key is\n```\n\n"
        "```lmreport\nanalysis: heads\nprompt: The key is\n```\n\n"
        "```lmreport\nanalysis: flow\nprompt: The key is\n```\n"
    )
    write_lesson(tmp_path / "lessons", "01-a.md", lesson)
    build(BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site", model=str(tiny_models["gpt2"]),
                       cache_dir=tmp_path / "cache", progress=False))
    data = tmp_path / "site" / "data"
    page = (tmp_path / "site" / "01-a.html").read_text()
    for n, name in ((1, "topk"), (2, "ablation"), (3, "attribution"), (5, "heads"), (6, "flow")):
        assert f'href="data/01-a-{n}-{name}.csv" download>Table (CSV)' in page
    assert not (data / "01-a-4-logit_lens.csv").exists() and "01-a-4-logit_lens.csv" not in page
    topk = json.loads((data / "01-a-1-topk.json").read_text())["data"]
    rows = list(csv.reader((data / "01-a-1-topk.csv").open()))
    assert rows[0] == ["rank", "token", "token_id", "probability", "logit"]
    assert [float(r[3]) for r in rows[1:]] == [p["prob"] for p in topk["predictions"]]
    ablation = json.loads((data / "01-a-2-ablation.json").read_text())["data"]
    rows = list(csv.reader((data / "01-a-2-ablation.csv").open()))
    assert [float(r[4]) for r in rows[1:]] == [t["prob"] for row in ablation["rows"] for t in row["targets"]]
    heads = json.loads((data / "01-a-5-heads.json").read_text())["data"]
    rows = list(csv.reader((data / "01-a-5-heads.csv").open()))
    assert [float(r[2]) for r in rows[1:]] == [v for row in heads["contributions"] for v in row]
    assert [int(r[0]) for r in rows[1:]] == [layer for layer in heads["layers"] for _ in heads["contributions"][0]]
    flow = json.loads((data / "01-a-6-flow.json").read_text())["data"]
    rows = list(csv.reader((data / "01-a-6-flow.csv").open()))
    attention = [r for r in rows[1:] if r[1] == "attention"]
    assert [(int(r[0]), int(r[2]), int(r[4]), float(r[6])) for r in attention] == [tuple(e[:4]) for e in flow["edges"]]
    mlp = {(int(r[0]), int(r[2])): float(r[6]) for r in rows[1:] if r[1] == "mlp"}
    past = {(int(r[0]), int(r[2])): float(r[6]) for r in rows[1:] if r[1] == "past_mlp"}
    assert mlp == {(layer, p): v for layer, row in enumerate(flow["ffn"], 1) for p, v in enumerate(row)}
    assert all(abs(mlp[k] + past[k] - 1) < 1e-4 for k in mlp)


def test_formula_like_text_is_not_a_formula():
    text = csv_text("attribution", {"tokens": ["=1+1", "-x", "@SUM(A1)", "ok"], "quantity": "q",
                                    "methods": [{"name": "occlusion", "scores": [-0.5, 1.0, 2.0, 3.0]}]})
    rows = list(csv.reader(text.splitlines()))
    assert [r[2] for r in rows[1:]] == ["'=1+1", "'-x", "'@SUM(A1)", "ok"]
    assert rows[1][3] == "-0.5"  # numbers stay numbers
