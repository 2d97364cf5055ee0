"""Result cache: hits skip the model entirely, prose edits recompute nothing, bad entries are recomputed."""

import json
import logging

from lmreport import models
from lmreport.build import build
from lmreport.cache import ResultCache, result_key
from lmreport.result import Result

from .conftest import build_options, write_lesson

LESSON = """# Cached

Prose v1.

```lmreport
analysis: topk
prompt: The capital of France is
k: 3
```

```lmreport
analysis: logit_lens
prompt: The capital of France is
```

```lmreport
analysis: attention
prompt: Alice gave a book
```
"""




def test_second_build_loads_no_model_and_computes_nothing(tmp_path, tiny_models, forget_models):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    first = build(build_options(tmp_path, tiny_models["gpt2"]))
    assert (first.computed, first.cached, first.model_loads, first.forward_passes) == (3, 0, 1, 2)
    models._LOADED.clear()
    second = build(build_options(tmp_path, tiny_models["gpt2"]))
    assert (second.computed, second.cached, second.model_loads, second.forward_passes) == (0, 3, 0, 0)
    assert models._LOADED == {}


def test_prose_edit_rerenders_without_recomputing(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON.replace("Prose v1.", "Prose v2, rewritten."))
    summary = build(build_options(tmp_path, tiny_models["gpt2"]))
    assert (summary.computed, summary.cached) == (0, 3)
    assert "Prose v2, rewritten." in (tmp_path / "site" / "01-a.html").read_text()


def test_changed_option_recomputes_only_that_directive(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON.replace("k: 3", "k: 4"))
    summary = build(build_options(tmp_path, tiny_models["gpt2"]))
    assert (summary.computed, summary.cached, summary.forward_passes) == (1, 2, 1)


def test_other_model_does_not_share_results(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    summary = build(build_options(tmp_path, tiny_models["llama"]))
    assert (summary.computed, summary.cached) == (3, 0)


def test_corrupt_entries_warn_and_recompute(tmp_path, tiny_models, caplog):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    entries = sorted(p for p in (tmp_path / "cache").rglob("*.json") if "figures" not in p.parts)
    assert len(entries) == 3
    entries[0].write_text("{not json")
    entries[1].write_bytes(entries[1].read_bytes()[:40])
    entry = json.loads(entries[2].read_text())
    entry["key"] = "0" * 64
    entries[2].write_text(json.dumps(entry))
    with caplog.at_level(logging.WARNING, logger="lmreport"):
        summary = build(build_options(tmp_path, tiny_models["gpt2"]))
    assert (summary.computed, summary.cached) == (3, 0)
    assert sum("unreadable" in r.message for r in caplog.records) == 3
    assert build(build_options(tmp_path, tiny_models["gpt2"])).cached == 3


def test_no_cache_recomputes_and_writes_nothing(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    summary = build(build_options(tmp_path, tiny_models["gpt2"], use_cache=False))
    assert summary.computed == 3 and not (tmp_path / "cache").exists()


def test_key_depends_on_what_changes_results_only():
    model = {"name": "m", "kind": "dir", "revision": "abc"}
    base = result_key(model, "topk", "1", {"prompt": "x", "k": 3})
    assert base == result_key(model, "topk", "1", {"k": 3, "prompt": "x"})
    assert base != result_key(model, "topk", "2", {"prompt": "x", "k": 3})
    assert base != result_key({**model, "revision": "abd"}, "topk", "1", {"prompt": "x", "k": 3})
    assert base != result_key(model, "topk", "1", {"prompt": "x ", "k": 3})


def test_round_trip(tmp_path):
    cache = ResultCache(tmp_path)
    result = Result("topk", {"prompt": "p"}, {"name": "m"}, {"x": [1.5, 2]})
    cache.put("ab" * 32, result)
    assert cache.get("ab" * 32) == result
    assert cache.get("cd" * 32) is None


def test_drawings_are_cached_too(tmp_path, tiny_models, monkeypatch, caplog):
    from lmreport import build as build_module

    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    first = (tmp_path / "site" / "01-a.html").read_text()

    def no_drawing(*args):
        raise AssertionError("rendered again although nothing changed")

    monkeypatch.setattr(build_module, "render", no_drawing)
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON.replace("Prose v1.", "Prose v2."))
    build(build_options(tmp_path, tiny_models["gpt2"]))
    assert (tmp_path / "site" / "01-a.html").read_text() == first.replace("Prose v1.", "Prose v2.")
    monkeypatch.undo()
    figures = sorted((tmp_path / "cache" / "figures").rglob("*.json"))
    assert len(figures) == 3
    figures[0].write_text("garbage")
    with caplog.at_level(logging.WARNING, logger="lmreport"):
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert any("rendering again" in r.message for r in caplog.records)
