"""What the command line prints: every error at file:line with a hint, control characters escaped, and the
traceback only with --debug."""

from __future__ import annotations

import pytest

from lmreport import cli
from lmreport.errors import LmreportError
from tests.conftest import write_lesson


def test_errors_a_newcomer_meets(tmp_path, capsys):
    from lmreport.cli import main

    write_lesson(tmp_path / "lessons", "01-a.md", '# A\n\n```lmreport\nanalysis: compare_tokens\nprompt: hi\n'
                 'tokens: " is", " are"\n```\n\n```lmreport\nanalysis: topk\nprompt: hi\npromt: hi\n```\n')
    assert main(["build", str(tmp_path / "lessons"), "-o", str(tmp_path / "site"), "--cache-dir",
                 str(tmp_path / "cache")]) == 1
    err = capsys.readouterr().err
    assert "01-a.md:6: lmreport block: malformed YAML: expected <block end>, but found ',' (several values make " \
           "a list: write it in brackets, e.g. tokens: [\" is\", \" are\"])" in err
    assert "01-a.md:12: topk: unknown option 'promt' (valid: prompt, k, position, temperature, xmax, " \
           "scale_with, title, model, id); did you mean 'prompt'?" in err
    assert err.rstrip().endswith("build failed: 2 errors; no site was written")  # there was none to keep
    assert main(["build", str(tmp_path / "nowhere"), "-o", str(tmp_path / "site")]) == 1
    assert capsys.readouterr().err.splitlines()[0] == f"{(tmp_path / 'nowhere').as_posix()}: no such folder"


def test_control_characters_are_escaped_in_every_message(tmp_path, capsys):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-\x1b[31mred\x07.md", "# a\n")
    write_lesson(lessons, "02-b.md", '```lmreport\nanalysis: "top\\ek"\nprompt: hi\n```\n\n'
                                     '```lmreport\nanalysis: topk\nprompt: hi\n"k\\a": 1\n```\n\n'
                                     '```lmreport\nanalysis: topk\nprompt: hi\nmodel: "/nowhere/m\\e[2J"\n```\n')
    assert cli.main(["build", str(lessons), "-o", str(tmp_path / "site")]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "01-\\x1b[31mred\\x07.md" in err
    assert "unknown analysis 'top\\x1bk'" in err and "unknown option 'k\\x07'" in err
    assert "option 'model' contains the control character U+001B at character 11" in err


def test_debug_shows_the_traceback(tmp_path, capsys):
    write_lesson(tmp_path / "lessons", "01-a.md", "# A\n")
    with pytest.raises(LmreportError):
        cli.main(["--debug", "build", str(tmp_path / "lessons"), "--model", str(tmp_path / "missing")])
