"""The embedded GGUF model's one-time conversion: a cache home that cannot be written is a clear error before any
slow work, and a converted folder left incomplete is converted again and replaced."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from lmreport import models
from lmreport.errors import LmreportError


def test_a_cache_home_that_cannot_be_written_is_a_clear_error_before_converting(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("LMREPORT_CACHE_HOME", str(tmp_path / "a-file" / "cache"))
    source = models.resolve(None)
    started = time.perf_counter()
    with pytest.raises(LmreportError, match=r"cannot convert .*\.gguf into '.*a-file/cache/models': Not a directory; "
                                            r"set LMREPORT_CACHE_HOME to a folder lmreport may write"):
        models.converted_folder(source)
    assert time.perf_counter() - started < 5  # found before the GGUF is read


@pytest.mark.embedded
def test_a_converted_folder_left_incomplete_is_converted_again(tmp_path, monkeypatch, smollm2):
    done = models.converted_folder(models.resolve(None))  # the user cache's, converted by the smollm2 fixture
    monkeypatch.setenv("LMREPORT_CACHE_HOME", str(tmp_path))
    source = models.resolve(None)
    target = tmp_path / "models" / done.name
    shutil.copytree(done, target)
    (target / "config.json").unlink()  # an interrupted copy, a hand that tidied up too much
    again = models.converted_folder(source)
    assert again == target and (target / "config.json").is_file()
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in done.iterdir())
    assert not list(tmp_path.glob("models/.convert-*"))


@pytest.mark.embedded
def test_converted_weights_changed_after_conversion_are_converted_again(tmp_path, monkeypatch, smollm2):
    """Random bytes written inside model.safetensors (same size): the conversion's record of hashes finds it, and
    the model is converted again rather than loaded and cached as valid."""
    done = models.converted_folder(models.resolve(None))
    monkeypatch.setenv("LMREPORT_CACHE_HOME", str(tmp_path))
    source = models.resolve(None)
    target = tmp_path / "models" / done.name
    shutil.copytree(done, target)
    assert models.converted_folder(source) == target  # intact: used as it is
    weights = target / "model.safetensors"
    good = weights.read_bytes()
    with open(weights, "r+b") as f:
        f.seek(len(good) // 2)
        f.write(os.urandom(4 << 20))
    assert models.converted_folder(source) == target
    assert weights.read_bytes() == good


def test_non_finite_logits_are_an_error_not_a_figure(tmp_path, tiny_models, monkeypatch):
    """A model whose output holds NaN (damaged weights in a folder of one's own) stops the block with a clear
    error; nothing is drawn at 'nan%' or written as NaN into the data files."""
    import torch

    from lmreport.build import build
    from lmreport.errors import BuildFailed
    from tests.conftest import build_options, write_lesson

    folder = tmp_path / "damaged"
    shutil.copytree(tiny_models["gpt2"], folder)
    loaded = models.load(models.resolve(str(folder)))
    with torch.no_grad():
        loaded.model.transformer.ln_f.weight.fill_(float("nan"))
    write_lesson(tmp_path / "lessons", "01-a.md", "```lmreport\nanalysis: topk\nprompt: The keys\n```\n")
    with pytest.raises(BuildFailed, match=r"01-a.md:3: topk: damaged gives logits that are not finite numbers"):
        build(build_options(tmp_path, folder))
    models.unload(loaded.source)
