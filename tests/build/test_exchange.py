"""Results computed on one machine (--results-only) and rendered on another (--from-results) without loading
a model; folders it did not write are refused."""

from __future__ import annotations

import json

import pytest

from lmreport import models
from lmreport.build import build
from lmreport.errors import BuildFailed, LmreportError
from tests.build.conftest import cells, matrix_lesson
from tests.conftest import opts, write_lesson


def test_results_only_then_from_results_renders_without_loading_a_model(tmp_path, tiny_models, tops, monkeypatch):
    gpt2, llama = str(tiny_models["gpt2"]), str(tiny_models["llama"])
    matrix_lesson(tmp_path, tops["gpt2"][0])
    for kind, spec in (("gpt2", gpt2), ("llama", llama)):  # two CI jobs, each with its own cache
        summary = build(opts(tmp_path, model=spec, results_only=tmp_path / kind,
                                      cache_dir=tmp_path / f"cache-{kind}"))
        assert summary.results_dir == tmp_path / kind and summary.computed == 2
        assert not (tmp_path / "site").exists()
    manifest = json.loads((tmp_path / "gpt2" / "models.json").read_text())
    assert manifest["matrix"] == [gpt2] and manifest["sources"][gpt2]["name"] == "gpt2"

    def no_model(*args, **kwargs):
        raise AssertionError("--from-results loaded a model")

    monkeypatch.setattr(models, "load", no_model)
    monkeypatch.setattr(models, "resolve", no_model)
    summary = build(opts(tmp_path, cache_dir=tmp_path / "render-cache",
                                  from_results=(tmp_path / "gpt2", tmp_path / "llama")))
    assert summary.models == ["gpt2", "llama"] and summary.model_loads == 0 and summary.cached == 4
    page = (tmp_path / "site" / "llama" / "01-next.html").read_text()
    assert f"{tops['llama'][1]:.6f}" in page
    claim = cells((tmp_path / "site" / "compare" / "index.html").read_text(), "?c.top ==")
    assert claim[0] == "✓" and claim[1].startswith("✗")

    # A block the results do not hold is an error at its line, naming the folders; nothing is loaded.
    with open(tmp_path / "lessons" / "01-next.md", "a") as f:
        f.write('\n```lmreport\nanalysis: topk\nprompt: "Another prompt"\n```\n')
    with pytest.raises(BuildFailed) as e:
        build(opts(tmp_path, cache_dir=tmp_path / "render-cache",
                            from_results=(tmp_path / "gpt2",)))
    assert "01-next.md:17: topk: no result for this block on gpt2 in" in str(e.value)
    # A model no folder has results for is named with what the folders hold.
    with pytest.raises(LmreportError, match="no results for model 'smollm2' in .*they have: "):
        build(opts(tmp_path, model="smollm2", from_results=(tmp_path / "gpt2",)))


def test_results_only_refuses_a_folder_it_did_not_write(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(LmreportError, match="holds no models.json; not writing into it"):
        build(opts(tmp_path, model=str(tiny_models["gpt2"]), results_only=tmp_path / "mine"))
    with pytest.raises(LmreportError, match="was not written by 'lmreport build --results-only'"):
        build(opts(tmp_path, model=str(tiny_models["gpt2"]), from_results=(tmp_path / "mine",)))
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
