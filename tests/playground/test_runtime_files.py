"""onnxruntime-web, carried for the playground: the files are those the pinned npm release holds (their sha256 as
tools/fetch_onnxruntime_web.py recorded them when it fetched and checked the release's sha512), with its license;
and a course without the playground gets none of it."""

from __future__ import annotations

import importlib.util
import json

from lmreport.build import build
from tests.conftest import REPO, build_options, write_lesson


def _tool():
    spec = importlib.util.spec_from_file_location("fetch_ort", REPO / "tools" / "fetch_onnxruntime_web.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_carried_runtime_is_the_pinned_release():
    tool = _tool()
    assert tool.check() == []
    source = json.loads((tool.RUNTIME / "SOURCE.json").read_text())
    assert source["version"] == tool.VERSION and source["integrity"] == tool.INTEGRITY
    assert sorted(source["files"]) == ["ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm", "ort.wasm.min.js"]
    assert "MIT License" in (tool.RUNTIME / "LICENSE").read_text()
    # A changed file is caught.
    wasm = tool.RUNTIME / "ort-wasm-simd-threaded.wasm"
    saved = wasm.read_bytes()
    try:
        wasm.write_bytes(saved[:-1] + bytes([saved[-1] ^ 1]))
        assert tool.check() == [f"{wasm}: missing or not the file SOURCE.json names"]
    finally:
        wasm.write_bytes(saved)


def test_a_course_without_the_playground_ships_none_of_it(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", '# A\n\n```lmreport\nanalysis: topk\nprompt: "the cat"\n```\n')
    build(build_options(tmp_path, tiny_models["gpt2"]))
    site = tmp_path / "site"
    assert not (site / "playground").exists() and not (site / "playground.html").exists()
    assert "playground.html" not in (site / "01-a.html").read_text()


def test_a_playground_that_cannot_be_made_is_an_error_at_its_line_and_keeps_the_old_site(tmp_path, tiny_models,
                                                                                         monkeypatch):
    import pytest

    from lmreport.errors import BuildFailed, LmreportError
    from lmreport.playground import bundle

    write_lesson(tmp_path / "lessons", "01-a.md", '# A\n\n```lmreport\nanalysis: topk\nprompt: "the cat"\n```\n')
    build(build_options(tmp_path, tiny_models["gpt2"]))
    page = (tmp_path / "site" / "01-a.html").read_text()
    (tmp_path / "lessons" / "course.yml").write_text("title: T\nplayground: fp16\n")
    monkeypatch.setattr(bundle, "tools_missing", lambda: ["onnxscript"])
    with pytest.raises(BuildFailed) as failed:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    (error,) = failed.value.errors
    assert str(error).endswith("lessons/course.yml:2: playground: the playground needs onnxscript: pip install "
                               "'lmreport[playground]' (or pip install onnx onnxscript onnxruntime)")
    assert (tmp_path / "site" / "01-a.html").read_text() == page and not (tmp_path / "site" / "playground").exists()
    # Asked on the command line instead: the error names the option.
    (tmp_path / "lessons" / "course.yml").write_text("title: T\n")
    with pytest.raises(LmreportError, match="^--playground: the playground needs onnxscript"):
        build(build_options(tmp_path, tiny_models["gpt2"], course={"playground": "fp16"}))
