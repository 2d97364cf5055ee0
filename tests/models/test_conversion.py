"""The embedded GGUF model's one-time conversion: a cache home that cannot be written is a clear error before any
slow work, and a converted folder left incomplete is converted again and replaced."""

from __future__ import annotations

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
