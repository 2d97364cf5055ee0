"""Result cache: hits skip the model entirely, prose edits recompute nothing, bad entries (corrupt, edited,
of the wrong shape, hostile, not a regular file) are recomputed."""

import hashlib
import json
import logging
import os
import time
from pathlib import Path

import pytest

from lmreport import models
from lmreport.build import build
from lmreport.build.cache import ResultCache, result_key
from lmreport.result import Result
from tests.conftest import build_options, write_lesson
from tests.source.helpers import BLOCK

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
    shape = {"layers": 2, "heads": 2, "kv_heads": 2, "d_model": 8, "d_head": 4, "d_ff": 16, "vocab": 50}
    data = {"tokens": ["a"], "input_ids": [7], "position": 0, "temperature": 1.0, "entropy": 0.5,
            "predictions": [{"rank": 1, "id": 3, "token": " b", "prob": 0.5, "logit": 2}], "model_shape": shape}
    result = Result("topk", {"prompt": "p"}, {"name": "m", "kind": "dir", "revision": "r"}, data)
    cache.put("ab" * 32, result)
    assert cache.get("ab" * 32) == result
    assert cache.get("cd" * 32) is None


def test_drawings_are_cached_too(tmp_path, tiny_models, monkeypatch, caplog):
    from lmreport import analyses

    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    first = (tmp_path / "site" / "01-a.html").read_text()

    def no_drawing(*args):
        raise AssertionError("rendered again although nothing changed")

    monkeypatch.setattr(analyses, "render", no_drawing)
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


def reseal(entry: dict) -> dict:
    """The entry with a correct checksum: sha256 over the canonical JSON of everything but the checksum
    (surrogatepass only so that a test can seal text that is not valid Unicode)."""
    payload = {k: v for k, v in entry.items() if k != "sha256"}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {**payload, "sha256": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()}


def result_entry(cache: Path, analysis: str) -> Path:
    """The cache file holding the result of this analysis (one per analysis in LESSON)."""
    found = [p for p in cache.rglob("*.json")
             if "figures" not in p.relative_to(cache).parts and f'"analysis": "{analysis}"' in p.read_text()]
    assert len(found) == 1
    return found[0]


def data_files(site: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((site / "data").glob("*.json"))}


@pytest.fixture(scope="module")
def uncached_data(tmp_path_factory, tiny_models) -> dict[str, bytes]:
    """The figures' JSON data files of LESSON built with no cache at all."""
    root = tmp_path_factory.mktemp("uncached")
    write_lesson(root / "lessons", "01-a.md", LESSON)
    build(build_options(root, tiny_models["gpt2"], use_cache=False))
    return data_files(root / "site")


def assert_one_recompute(tmp_path, tiny_models, caplog, uncached_data) -> str:
    """The next build warns about exactly one entry, recomputes it alone, writes the right data and
    caches it again; the warning is returned."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lmreport"):
        summary = build(build_options(tmp_path, tiny_models["gpt2"]))
    warnings = [r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].endswith("; recomputing"), warnings
    assert (summary.computed, summary.cached) == (1, 2)
    assert data_files(tmp_path / "site") == uncached_data
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lmreport"):
        assert build(build_options(tmp_path, tiny_models["gpt2"])).cached == 3
    assert not [r for r in caplog.records if "unreadable" in r.getMessage()]
    return warnings[0]


def _set(entry: dict, path: tuple[str, ...], value) -> dict:
    *parents, last = path
    target = entry
    for name in parents:
        target = target[name]
    target[last] = value
    return entry


def _first_prob_halved(entry: dict) -> dict:
    entry["result"]["data"]["predictions"][0]["prob"] /= 2
    return entry


# Payloads edited after they were written, their checksum left as it was.
EDITED = {
    "data emptied": lambda e: _set(e, ("result", "data"), {}),
    "a probability changed": _first_prob_halved,
    "options not an object": lambda e: _set(e, ("result", "options"), []),
    "model a number": lambda e: _set(e, ("result", "model"), 5),
    "checksum removed": lambda e: {k: v for k, v in e.items() if k != "sha256"},
}


@pytest.mark.parametrize("edit", EDITED.values(), ids=EDITED.keys())
def test_entry_changed_after_writing_fails_its_checksum(tmp_path, tiny_models, caplog, uncached_data, edit):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    path = result_entry(tmp_path / "cache", "topk")
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    warning = assert_one_recompute(tmp_path, tiny_models, caplog, uncached_data)
    assert "does not match its checksum" in warning or "no 'sha256' checksum" in warning


# Valid JSON of the wrong shape, sealed with a correct checksum: only the type checks catch these.
WRONG_SHAPES = {
    "analysis a number": (("result", "analysis"), 7),
    "options an array": (("result", "options"), []),
    "model a number": (("result", "model"), 5),
    "model with a number in it": (("result", "model", "name"), 5),
    "model without its revision": (("result", "model"), {"name": "gpt2", "kind": "dir"}),
    "data an array": (("result", "data"), []),
    "data a string": (("result", "data"), "x"),
    "result a string": (("result",), "x"),
    "result with a field too many": (("result", "extra"), 1),
    "entry with a field too many": (("extra",), 1),
}


@pytest.mark.parametrize("path, value", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_entry_of_the_wrong_shape_is_recomputed(tmp_path, tiny_models, caplog, uncached_data, path, value):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    entry_path = result_entry(tmp_path / "cache", "topk")
    entry_path.write_text(json.dumps(reseal(_set(json.loads(entry_path.read_text()), path, value))))
    warning = assert_one_recompute(tmp_path, tiny_models, caplog, uncached_data)
    assert "checksum" not in warning and ("result" in warning or "entry holds" in warning)


FIGURE_EDITS = {
    "html a number": lambda e: reseal(_set(e, ("html",), 5)),
    "assets a string": lambda e: reseal(_set(e, ("assets",), "bokeh")),
    "unknown asset group": lambda e: reseal(_set(e, ("assets",), ["bokeh", "evil"])),
    "asset group a number": lambda e: reseal(_set(e, ("assets",), [1])),
    "html edited": lambda e: _set(e, ("html",), e["html"] + "<script>TAMPERED</script>"),
}


@pytest.mark.parametrize("edit", FIGURE_EDITS.values(), ids=FIGURE_EDITS.keys())
def test_drawing_of_the_wrong_shape_is_drawn_again(tmp_path, tiny_models, caplog, edit):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    figures = [p for p in (tmp_path / "cache" / "figures").rglob("*.json") if '"bokeh"' in p.read_text()]
    figures[0].write_text(json.dumps(edit(json.loads(figures[0].read_text()))))
    with caplog.at_level(logging.WARNING, logger="lmreport"):
        summary = build(build_options(tmp_path, tiny_models["gpt2"]))
    assert summary.cached == 3
    warnings = [r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].endswith("; rendering again"), warnings
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert page.count('class="lmreport-figure') == 3 and "TAMPERED" not in page
    assert "assets/bokeh.min.js" in page and "assets/bertviz.js" in page
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lmreport"):
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert not caplog.records


def _not_utf8(text: str) -> bytes:
    return text.encode().replace(b'"topk"', b'"top\xffk"')


def _lone_surrogate(text: str) -> bytes:
    """Valid JSON and a correct checksum, but a token that is not valid Unicode (a lone surrogate)."""
    entry = json.loads(text)
    entry["result"]["data"]["tokens"][0] = "\udc80"
    return json.dumps(reseal(entry)).encode()


def _deeply_nested(text: str) -> bytes:
    entry = json.loads(text)
    entry["result"]["data"]["deep"] = "DEEP"
    return json.dumps(entry).replace('"DEEP"', "[" * 5000 + "]" * 5000).encode()


HOSTILE = {"not UTF-8": _not_utf8, "lone surrogate": _lone_surrogate, "nested 5,000 deep": _deeply_nested}


@pytest.mark.parametrize("make", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_entry_is_a_warning_not_a_traceback(tmp_path, tiny_models, caplog, uncached_data, make):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    path = result_entry(tmp_path / "cache", "topk")
    path.write_bytes(make(path.read_text()))
    assert_one_recompute(tmp_path, tiny_models, caplog, uncached_data)


def test_sealed_entry_that_cannot_be_drawn_is_recomputed(tmp_path, tiny_models, caplog, uncached_data, monkeypatch):
    """The right envelope, a correct checksum, the shape topk declares and numbers that agree with each other, but
    a result the renderer cannot draw: the drawing fails, and the build warns and recomputes that one result
    instead of failing. (topk's consistency check lets no numbers through that its view cannot draw, so here the
    view fails on a token marked for it.)"""
    import dataclasses
    import shutil

    from lmreport import analyses

    topk = analyses.get("topk")

    def render(result, figure_id):
        if result.data["predictions"][0]["token"] == "<undrawable>":
            raise KeyError("undrawable")
        return topk.render(result, figure_id)

    monkeypatch.setitem(analyses.REGISTRY, "topk", dataclasses.replace(topk, render=render))
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    entry_path = result_entry(tmp_path / "cache", "topk")
    entry = json.loads(entry_path.read_text())
    entry["result"]["data"]["predictions"][0]["token"] = "<undrawable>"
    entry_path.write_text(json.dumps(reseal(entry)))
    shutil.rmtree(tmp_path / "cache" / "figures")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lmreport"):
        summary = build(build_options(tmp_path, tiny_models["gpt2"]))
    warnings = [r.getMessage() for r in caplog.records if "cannot be drawn" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith(f"{(tmp_path / 'lessons' / '01-a.md').as_posix()}:5: ")
    assert (summary.computed, summary.cached) == (1, 2)
    assert data_files(tmp_path / "site") == uncached_data


def test_sealed_entry_of_the_wrong_shape_is_recomputed_before_drawing(tmp_path, tiny_models, caplog, uncached_data):
    """'data': {} with a correct checksum: its analysis's declared shape rejects it when read, so it is never
    drawn; the build warns, naming what is missing, and recomputes it."""
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    entry_path = result_entry(tmp_path / "cache", "topk")
    entry = json.loads(entry_path.read_text())
    entry_path.write_text(json.dumps(reseal(_set(entry, ("result", "data"), {}))))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lmreport"):
        summary = build(build_options(tmp_path, tiny_models["gpt2"]))
    missing = "missing model_shape, tokens, input_ids, position, temperature, entropy, predictions"
    assert "TopkResult" in caplog.text and missing in caplog.text
    assert "cannot be drawn" not in caplog.text
    assert (summary.computed, summary.cached) == (1, 2)
    assert data_files(tmp_path / "site") == uncached_data


def test_a_fifo_or_device_in_the_cache_is_refused_not_read(tmp_path, tiny_models, caplog):
    write_lesson(tmp_path / "lessons", "01-a.md", BLOCK)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    (entry,) = [p for p in (tmp_path / "cache").rglob("*.json") if "figures" not in p.parts]
    entry.unlink()
    os.mkfifo(entry)
    started = time.perf_counter()
    summary = build(build_options(tmp_path, tiny_models["gpt2"]))
    assert summary.computed == 1 and time.perf_counter() - started < 30
    assert "is unreadable" in caplog.text
    entry.unlink()
    entry.symlink_to("/dev/zero")
    assert build(build_options(tmp_path, tiny_models["gpt2"])).computed == 1
