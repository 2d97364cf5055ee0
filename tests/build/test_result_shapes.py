"""Results are checked against their analysis's declared shape wherever they are read back: a cached entry of
the wrong shape (whose checksum still matches) is a warning and a recompute; one in a results folder from another
machine is a clear error naming the file. Keys hash the compute code: changed code computes anew."""

from __future__ import annotations

import json
import logging
import os
import re
import time

import pytest

from lmreport import analyses
from lmreport.analyses.spec import source_hash
from lmreport.build import build
from lmreport.build.cache import CHECKSUM_FIELD, checksum, result_key
from lmreport.errors import LmreportError
from tests.conftest import build_options, write_lesson

LESSON = """# Next

```lmreport
analysis: topk
prompt: "The keys to the"
k: 3
```
"""


def reshape(entry_path, change) -> None:
    """Edit a stored result's data and sign the entry again, as a careless tool (not an accident) would."""
    entry = json.loads(entry_path.read_text())
    entry.pop(CHECKSUM_FIELD)
    change(entry["result"]["data"])
    entry[CHECKSUM_FIELD] = checksum(entry)
    entry_path.write_text(json.dumps(entry))


def rename_predictions(data) -> None:
    data["preds"] = data.pop("predictions")


def test_a_cached_result_of_the_wrong_shape_is_recomputed(tmp_path, tiny_models, caplog):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    first = (tmp_path / "site" / "data" / "01-a-1-topk.json").read_text()
    (entry,) = [p for p in (tmp_path / "cache").glob("*/*.json")]
    reshape(entry, rename_predictions)
    with caplog.at_level(logging.WARNING, logger="lmreport"):
        summary = build(build_options(tmp_path, tiny_models["gpt2"]))
    assert summary.computed == 1 and summary.cached == 0
    assert "TopkResult" in caplog.text and "missing predictions" in caplog.text and "recomputing" in caplog.text
    assert (tmp_path / "site" / "data" / "01-a-1-topk.json").read_text() == first
    reshape(entry, lambda data: data["predictions"][0].update(prob="0.5"))  # a number as text
    with caplog.at_level(logging.WARNING, logger="lmreport"):
        assert build(build_options(tmp_path, tiny_models["gpt2"])).computed == 1
    assert "predictions.0.prob: Input should be a valid number" in caplog.text
    reshape(entry, lambda data: data["predictions"][0].update(prob=float("nan")))  # not a number JSON can hold
    with caplog.at_level(logging.WARNING, logger="lmreport"):
        assert build(build_options(tmp_path, tiny_models["gpt2"])).computed == 1
    assert "predictions.0.prob: Input should be a finite number" in caplog.text
    assert "NaN" not in (tmp_path / "site" / "data" / "01-a-1-topk.json").read_text()


def test_a_results_folder_entry_of_the_wrong_shape_is_an_error(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    build(build_options(tmp_path, tiny_models["gpt2"], results_only=tmp_path / "results"))
    (entry,) = (tmp_path / "results" / "results").glob("*/*.json")
    reshape(entry, rename_predictions)
    with pytest.raises(LmreportError, match=r"results entry .*\.json cannot be used .*TopkResult.*compute it again"):
        build(build_options(tmp_path, tiny_models["gpt2"], from_results=(tmp_path / "results",),
                            cache_dir=tmp_path / "render-cache"))


def test_the_result_key_hashes_the_compute_code(tmp_path, monkeypatch):
    topk = analyses.get("topk")
    identity = {"name": "m", "kind": "dir", "revision": "r"}
    key = result_key(identity, "topk", topk.code_hash, {"prompt": "x"})
    assert key != result_key(identity, "topk", analyses.get("logit_lens").code_hash, {"prompt": "x"})
    # The hash covers compute.py and what it imports, however indirectly (the forward pass, shared helpers).
    from lmreport.analyses.spec import _imported_sources

    read = _imported_sources("lmreport.analyses.topk.compute")
    assert {"lmreport.analyses.topk.compute", "lmreport.analyses.common", "lmreport.models.forward"} <= set(read)
    assert not any(name.startswith(("lmreport.site", "lmreport.views")) for name in read)
    # An edited module among them changes the hash (a forgotten version bump can no longer serve stale numbers).
    from lmreport.analyses import spec

    copies = {}
    for name, path in read.items():
        copies[name] = tmp_path / f"{name}.py"
        copies[name].write_bytes(path.read_bytes())
    monkeypatch.setattr(spec, "_imported_sources", lambda start: copies)
    before = source_hash.__wrapped__("lmreport.analyses.topk.compute")
    assert before == topk.code_hash  # the same files give the same hash
    copies["lmreport.models.forward"].write_text(copies["lmreport.models.forward"].read_text() + "\n# a change\n")
    assert source_hash.__wrapped__("lmreport.analyses.topk.compute") != before


def test_a_crafted_results_folder_lends_its_drawing_to_no_later_build(tmp_path, tiny_models):
    """Figures are keyed by what they draw: after a --from-results build of a crafted (well-shaped) result, a
    normal build sharing its cache computes the result and draws it anew, never reusing the crafted drawing."""
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    build(build_options(tmp_path, tiny_models["gpt2"], results_only=tmp_path / "results",
                        cache_dir=tmp_path / "elsewhere"))  # the other machine's cache
    (entry,) = (tmp_path / "results" / "results").glob("*/*.json")
    reshape(entry, lambda data: data["predictions"][0].update(token="CRAFTED-TOKEN"))
    build(build_options(tmp_path, tiny_models["gpt2"], from_results=(tmp_path / "results",)))
    assert "CRAFTED-TOKEN" in (tmp_path / "site" / "01-a.html").read_text()
    summary = build(build_options(tmp_path, tiny_models["gpt2"]))
    assert summary.computed == 1
    assert "CRAFTED-TOKEN" not in (tmp_path / "site" / "01-a.html").read_text()


@pytest.fixture
def results_folder(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    build(build_options(tmp_path, tiny_models["gpt2"], results_only=tmp_path / "results",
                        cache_dir=tmp_path / "elsewhere"))
    return tmp_path / "results"


def from_results(tmp_path, tiny_models, folder):
    return build(build_options(tmp_path, tiny_models["gpt2"], from_results=(folder,)))


def test_a_manifest_of_the_wrong_shape_is_an_error_naming_what_is_wrong(tmp_path, tiny_models, results_folder):
    manifest = results_folder / "models.json"
    good = json.loads(manifest.read_text())
    (spec,) = good["sources"]
    for change, expected in [
        (lambda m: m["sources"][spec].update(path=123), rf"sources\.{re.escape(spec)}\.path: Input should be a "
                                                         "valid string"),
        (lambda m: m["sources"][spec].pop("revision"), "missing .*revision"),
        (lambda m: m.update(dtype="float8"), "dtype: Input should be 'float32', 'bfloat16' or 'float16'"),
        # as many models as course.yml may list (16), not a thousand
        (lambda m: m.update(matrix=[f"model-{i}" for i in range(1000)]), "matrix: List should have at most 16"),
    ]:
        bad = json.loads(json.dumps(good))
        change(bad)
        manifest.write_text(json.dumps(bad))
        with pytest.raises(LmreportError, match=rf"models\.json is malformed: it does not have the shape of "
                                                rf"Manifest: .*{expected}"):
            from_results(tmp_path, tiny_models, results_folder)
    manifest.write_text(json.dumps(good))
    assert from_results(tmp_path, tiny_models, results_folder).cached == 1


def test_a_manifest_that_is_no_regular_file_or_too_large_is_refused_without_reading(tmp_path, tiny_models,
                                                                                     results_folder):
    manifest = results_folder / "models.json"
    manifest.unlink()
    manifest.symlink_to("/dev/zero")
    with pytest.raises(LmreportError, match="cannot read .*models.json"):
        from_results(tmp_path, tiny_models, results_folder)
    manifest.unlink()
    os.mkfifo(manifest)
    started = time.perf_counter()
    with pytest.raises(LmreportError, match="cannot read .*models.json: it is not a regular file"):
        from_results(tmp_path, tiny_models, results_folder)
    assert time.perf_counter() - started < 30
    manifest.unlink()
    manifest.write_text(" " * (2 << 20) + "{}")
    with pytest.raises(LmreportError, match="cannot read .*models.json: it is 2,097,154 bytes long; at most"):
        from_results(tmp_path, tiny_models, results_folder)


@pytest.mark.parametrize("analysis, change, expected", [
    ("neurons", lambda d: d.update(n_layers=10**9), r"n_layers 1000000000 and d_ff \d+ are not the model's"),
    ("neurons", lambda d: d["top_neurons"][0][0].__setitem__(0, 10**9), "a top neuron 1000000000 is outside"),
    ("flow", lambda d: d["edges"][0].__setitem__(0, 999), "an edge's layer 999 is outside 1..3"),
    ("flow", lambda d: d["nodes"].update({"a999_0": {"residual": 0.5, "heads": []}}),
     "the node 'a999_0' is not a node of this graph"),
    ("flow", lambda d: d["edges"][0][4].append([99, 0.5]), "an edge's head 99 is outside"),
])
def test_well_typed_numbers_that_disagree_with_the_model_are_refused(tmp_path, tiny_models, analysis, change,
                                                                     expected):
    """A results folder's numbers of the right types but sizes or indices the model and prompt do not have (a
    billion layers, a node of layer 999) are an error naming what disagrees, before anything draws them."""
    lesson = f"# A\n\n```lmreport\nanalysis: {analysis}\nprompt: \"The keys to the\"\n```\n"
    write_lesson(tmp_path / "lessons", "01-a.md", lesson)
    build(build_options(tmp_path, tiny_models["gpt2"], results_only=tmp_path / "results",
                        cache_dir=tmp_path / "elsewhere"))
    (entry,) = (tmp_path / "results" / "results").glob("*/*.json")
    reshape(entry, change)
    with pytest.raises(LmreportError, match=rf"cannot be used \(the result is not consistent .*{expected}"):
        from_results(tmp_path, tiny_models, tmp_path / "results")


def test_results_of_one_model_that_state_different_sizes_are_refused(tmp_path, tiny_models):
    """A result whose own parts agree, but whose model sizes (which prose cites: `=id.layers`) are not those the
    other results of the same model state, is an error at its block."""
    lesson = ("# A\n\n```lmreport\nanalysis: topk\nprompt: \"The keys to the\"\n```\n\n"
              "```lmreport\nanalysis: hidden_states\nprompt: \"The keys to the\"\n```\n\n"
              "```lmreport\nanalysis: topk\nprompt: \"The key to the\"\n```\n")
    write_lesson(tmp_path / "lessons", "01-a.md", lesson)
    build(build_options(tmp_path, tiny_models["gpt2"], results_only=tmp_path / "results",
                        cache_dir=tmp_path / "elsewhere"))
    from_results(tmp_path, tiny_models, tmp_path / "results")  # as written: usable
    entries = sorted((tmp_path / "results" / "results").glob("*/*.json"))
    topk = [e for e in entries if json.loads(e.read_text())["result"]["analysis"] == "topk"]
    reshape(topk[0], lambda d: d["model_shape"].update(layers=99))
    with pytest.raises(LmreportError, match=r"01-a\.md:\d+: topk: the result .* states the sizes of .*layers 99.*"
                                            r"other results of the same model as .*layers 3"):
        from_results(tmp_path, tiny_models, tmp_path / "results")
