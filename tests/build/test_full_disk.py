"""A full disk while writing the cache or a results folder: no half-written or temporary file is left behind, the
error says what happened, and the folder stays usable."""

from __future__ import annotations

import errno
import os

import pytest

from lmreport.build import build
from lmreport.build import cache as cache_module
from lmreport.errors import LmreportError
from tests.conftest import build_options, write_lesson

LESSON = """# Next

```lmreport
analysis: topk
prompt: "The keys to the"
```

```lmreport
analysis: logit_lens
prompt: "The keys to the"
```
"""


@pytest.fixture
def full_disk(monkeypatch):
    """Every file the cache opens for writing fails to write (ENOSPC), as on a full disk."""
    real = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, text):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fdopen(fd, mode="r", *args, **kwargs):
        f = real(fd, mode, *args, **kwargs)
        return Full(f) if "w" in mode else f

    monkeypatch.setattr(cache_module.os, "fdopen", fdopen)


def leftovers(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and (p.name.startswith(".") or not p.stat().st_size))


def test_a_full_disk_leaves_no_temporary_file_in_the_cache(tmp_path, tiny_models, full_disk, caplog):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    summary = build(build_options(tmp_path, tiny_models["gpt2"]))  # the site is written; the cache is not
    assert summary.computed == 2 and "No space left on device" in caplog.text
    assert leftovers(tmp_path / "cache") == []


def test_a_full_disk_during_results_only_is_an_error_and_leaves_the_folder_usable(tmp_path, tiny_models,
                                                                                 monkeypatch):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    real = os.fdopen
    with monkeypatch.context() as patched:
        def fdopen(fd, mode="r", *args, **kwargs):
            if "w" in mode:
                os.close(fd)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(fd, mode, *args, **kwargs)

        patched.setattr(cache_module.os, "fdopen", fdopen)
        with pytest.raises(LmreportError, match=r"could not write the results into .*results'.*it is left empty"):
            build(build_options(tmp_path, tiny_models["gpt2"], results_only=tmp_path / "results"))
    assert list((tmp_path / "results").rglob("*.json")) == [] and leftovers(tmp_path / "results") == []
    summary = build(build_options(tmp_path, tiny_models["gpt2"], results_only=tmp_path / "results"))
    assert summary.analyses == 2 and (tmp_path / "results" / "models.json").is_file()
