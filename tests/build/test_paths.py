"""The folders a build is given are checked before any model work: the site never overlaps the cache or the
lessons, and '.', '/' or a name too long is a clear error."""

from __future__ import annotations

import pytest

from lmreport import cli
from lmreport.build import build
from lmreport.errors import LmreportError
from tests.conftest import build_options, write_lesson
from tests.source.helpers import BLOCK


def test_output_equal_to_cache_is_refused_before_any_model_work(tmp_path, tiny_models, forget_models):
    from lmreport import models

    write_lesson(tmp_path / "lessons", "01-a.md", BLOCK)
    for cache in (tmp_path / "site", tmp_path / "site" / "cache", tmp_path):
        with pytest.raises(LmreportError, match="overlap"):
            build(build_options(tmp_path, tiny_models["gpt2"], site_dir=tmp_path / "site", cache_dir=cache))
    assert models._LOADED == {}


def test_output_dot_and_root_are_clear_errors(tmp_path, tiny_models, capsys, monkeypatch):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["build", "lessons", "-o", ".", "--model", str(tiny_models["gpt2"])]) == 1
    assert cli.main(["build", "lessons", "-o", "/", "--model", str(tiny_models["gpt2"])]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "error: the site folder '.' would hold the lessons 'lessons'" in err
    assert "error: cannot write the site into '/': it is the root of the file system" in err


def test_a_long_output_name_is_a_clear_error(tmp_path, tiny_models, capsys):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    code = cli.main(["build", str(tmp_path / "lessons"), "-o", str(tmp_path / ("s" * 300)),
                     "--model", str(tiny_models["gpt2"])])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "error: cannot use the folders given: File name too long" in err
