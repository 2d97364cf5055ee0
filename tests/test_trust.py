"""Trust, round two: the server, YAML and markdown bombs, odd input, paths. Each test names the class it
closes; every one failed before the fix it guards."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lmreport import cli
from lmreport.build import BuildOptions, build
from lmreport.errors import BuildFailed, LessonError, LmreportError
from lmreport.serve import rebuild, snapshot, start_server
from lmreport.site.fragments import lesson_html
from lmreport.source.lessons import parse_lesson, scan_lessons

from .conftest import build_options, write_lesson

BLOCK = "```lmreport\nanalysis: topk\nprompt: The capital of\n```\n"


def parse(text: str, name: str = "01-a.md"):
    errors, warnings = [], []
    lesson = parse_lesson(Path("lessons") / name, text, errors, warnings, nonce="n")
    return lesson, errors, warnings


def one_error(text: str) -> tuple[int, str]:
    _, errors, _ = parse(text)
    assert len(errors) == 1, errors
    return errors[0].line, errors[0].message


def get(server, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


# 1. serve shows only a site lmreport built: no listing, no dotfiles, nothing outside it


def test_serve_refuses_a_folder_it_did_not_build(tmp_path, tiny_models, capsys):
    docs = tmp_path / "docs"
    (docs / ".ssh").mkdir(parents=True)
    (docs / ".ssh" / "id_rsa").write_text("SECRET KEY")
    (docs / "notes.txt").write_text("private notes")
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    options = BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=docs, model=str(tiny_models["gpt2"]),
                           cache_dir=tmp_path / "cache", progress=False)
    assert not rebuild(options)
    assert "nothing to serve yet" in capsys.readouterr().out
    server = start_server(docs, "127.0.0.1", 0)
    try:
        for path in ("/", "/notes.txt", "/.ssh/id_rsa", "/.ssh/"):
            status, body = get(server, path)
            assert status == 503 and b"SECRET" not in body and b"private" not in body, path
    finally:
        server.shutdown()


def test_serve_lists_no_folder_and_serves_no_hidden_or_outside_file(tmp_path, tiny_models, caplog):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / "secret.txt").write_text("outside")
    build(build_options(tmp_path, tiny_models["gpt2"]))
    site = tmp_path / "site"
    (site / "assets" / ".hidden").write_text("hidden")
    server = start_server(site, "127.0.0.1", 0)
    try:
        assert get(server, "/")[0] == 200 and get(server, "/01-a.html")[0] == 200
        assert get(server, "/assets/lmreport.css")[0] == 200
        for path in ("/data/", "/assets/", "/assets/.hidden", "/.lmreport-site", "/../secret.txt",
                     "/%2e%2e/secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt", "/01-a.html%00.txt", "/%00",
                     "/assets%5c..%5c..%5csecret.txt", "/nope.html"):
            status, body = get(server, path)
            assert status == 404, path
            assert b"Index of" not in body and b"outside" not in body and b"hidden" not in body, path
    finally:
        server.shutdown()
    assert "Traceback" not in caplog.text


# 2 (code from a model folder) is in test_remote_code.py; 13 (cache entries) in test_cache.py.


# 3. '//host' is another host; images never leave the site


@pytest.mark.parametrize("markdown, message", [
    ("![x](//evil.example/p.png)", "image '//evil.example/p.png' is not a file of the site"),
    ("![x](https://evil.example/p.png)", "image 'https://evil.example/p.png' is not a file of the site"),
    ("![x](/p.png)", "image '/p.png' must be a relative path"),
    ("![x](data:image/png;base64,AAAA)", "is not a file of the site"),
    ("[x](JaVaScRiPt:alert(1))", "link to 'JaVaScRiPt:alert(1)' is not allowed"),
    ("<javascript:alert(1)>", "link to 'javascript:alert(1)' is not allowed"),
    ("[x][r]\n\n[r]: javascript:alert(1)", "link to 'javascript:alert(1)' is not allowed"),
])
def test_links_and_images_that_leave_the_site_are_refused_at_their_line(markdown, message):
    line, text = one_error(f"# A\n\ntext\n\n{markdown}\n")
    assert line == 5 and message in text, text


def test_web_links_relative_images_and_code_are_fine():
    text = ("# A\n\n[web](https://example.org) [other host](//example.org/x) [mail](mailto:a@b.c) [up](../x.html)"
            " [anchor](#a)\n\n![local](img/p.png)\n\n`href=\"javascript:alert(1)\"` and href=\"javascript:x\" "
            "as text\n\n```html\n<a href=\"javascript:alert(1)\">x</a>\n```\n")
    lesson, errors, _ = parse(text)
    assert errors == []
    html = lesson_html(lesson)
    assert '<img src="img/p.png" alt="local" />' in html and "<a href=\"javascript" not in html


# 4. paths are literal: glob characters in -o touch no other site


def test_glob_characters_in_the_output_touch_no_other_site(tmp_path, tiny_models):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    backup = tmp_path / f".sa.old-{dead.pid}"  # another site's backup, left by a build that was killed
    backup.mkdir()
    (backup / "page.html").write_text("the other site")
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    build(build_options(tmp_path, tiny_models["gpt2"], site_dir=tmp_path / "s*"))
    assert (tmp_path / "s*" / "01-a.html").is_file()
    assert (backup / "page.html").read_text() == "the other site"


# 5. YAML aliases are refused: no "billion laughs", no echo of an expanded value


def laughs(levels: int) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    return "\n".join(lines)


def test_yaml_bombs_are_refused_at_once_everywhere(tmp_path, tiny_models):
    bomb = laughs(9)
    started = time.perf_counter()
    line, message = one_error(f"---\n{bomb}\n---\n# A\n")
    assert (line, message) == (3, "front matter: YAML aliases (*name) are not allowed in lessons: write the value out")
    line, message = one_error(f"# A\n\n```lmreport\nanalysis: topk\nprompt: hi\n{bomb}\n```\n")
    assert line == 7 and "aliases" in message
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / "lessons" / "course.yml").write_text(f"title: x\n{bomb}\n")
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert [(x.path.name, x.line) for x in e.value.errors] == [("course.yml", 3)]
    assert time.perf_counter() - started < 5 and len(str(e.value)) < 500


# 6. markdown work is bounded: linear parser, nesting limit, size limit


@pytest.mark.parametrize("body", [
    "[" * 8000,
    "[" * 100_000,
    "![[" * 20_000 + "]](" * 20_000,
    "# a\n" * 20_000,
    "a\n=\n" * 20_000,
    "``a`" * 5_000,
    "> " * 5_000 + "x",
    "\n".join("  " * i + "- x" for i in range(300)),
    "\n".join("    " * i + "- > x" for i in range(300)),
])
def test_pathological_markdown_is_bounded(body):
    started = time.perf_counter()
    lesson, errors, _ = parse(f"# A\n\n{body}\n\n{BLOCK}")
    if lesson is not None and not errors:
        lesson_html(lesson)
    assert time.perf_counter() - started < 5
    assert all(isinstance(e, LessonError) for e in errors)
    if body.startswith(("> ", "  ", "\n")) or "- x" in body:
        assert [(e.line, e.message.split(";")[0]) for e in errors][:1] == [(errors[0].line, "lists or quotes nested "
                                                                            "40 levels deep")]
        assert 3 <= errors[0].line <= 3 + 60


def test_a_lesson_too_large_is_refused_without_reading_it(tmp_path):
    write_lesson(tmp_path, "01-big.md", "# big\n" + "word " * 300_000)
    result = scan_lessons(tmp_path)
    assert [str(e).split("/")[-1] for e in result.errors] == [
        "01-big.md:1: is 1,500,006 bytes; at most 200,000 are read"]


# 7. option lists and texts are bounded, and `lmreport analyses` says so


def test_unbounded_lists_and_texts_are_refused(tmp_path, tiny_models, capsys):
    prompts = json.dumps([f"p{i}" for i in range(1_000)])
    tokens = json.dumps([f" t{i}" for i in range(1_000)])
    text = (f"```lmreport\nanalysis: compare_prompts\nprompts: {prompts}\ntokens: [\" a\"]\n```\n\n"
            f"```lmreport\nanalysis: compare_tokens\nprompt: hi\ntokens: {tokens}\ntitle: {'t' * 400}\n```\n")
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert [(x.line, x.message) for x in e.value.errors] == [
        (3, "compare_prompts: option 'prompts' names 1,000 values; at most 32"),
        (10, "compare_tokens: option 'tokens' names 1,000 values; at most 16"),
        (11, "compare_tokens: option 'title' is 400 characters long; at most 300"),
    ]
    assert cli.main(["analyses", "compare_prompts"]) == 0
    assert "prompts (list, required; 1 to 32 items" in capsys.readouterr().out


def test_too_many_blocks_in_one_lesson_are_refused_at_the_first_one_too_many():
    line, message = one_error("# A\n\n" + "```lmreport\nanalysis: topk\nprompt: hi\n```\n\n" * 250)
    assert (line, message) == (3 + 200 * 5, "more than 200 lmreport blocks in one lesson: split it into several "
                                            "lessons")


def test_an_order_that_is_not_a_finite_number_is_refused():
    for value in (".nan", ".inf", "1.0e+400"):
        assert one_error(f"---\norder: {value}\n---\n") == (2, "front matter 'order' must be a finite number")


# 8. serve watches the lessons, not the site or cache it writes inside them


def test_a_build_inside_the_lessons_folder_does_not_trigger_a_rebuild(tmp_path, tiny_models):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# a\n")
    options = BuildOptions(lessons_dir=lessons, site_dir=lessons / "site", model=str(tiny_models["gpt2"]),
                           cache_dir=lessons / ".cache", progress=False)
    before = snapshot(options)
    build(options)
    build(options)
    assert snapshot(options) == before
    write_lesson(lessons, "01-a.md", "# b\n")
    assert snapshot(options) != before


# 9. odd input is an error at file:line, never a traceback


@pytest.mark.parametrize("block, line, message", [
    ("prompt: " + "[" * 5000 + "]" * 5000, 5, "lmreport block: nested more than 32 levels deep"),
    ("prompt: hi\nk: " + "7" * 5000, 6, "lmreport block: cannot read this value (Exceeds the limit"),
    ('prompt: "\\ud800"', 5, "topk: option 'prompt' contains the control character U+D800"),
    ('prompt: hi\ntitle: "x\\ud800"', 6, "topk: option 'title' contains the control character U+D800"),
    ("prompt: hi\nwhen: 2026-13-45", 6, "lmreport block: cannot read this value (month must be in 1..12)"),
    ("prompt: hi\nk: " + "9" * 400, 6, "topk: option 'k' must be at most 1000, got 99999999…(400 digits)"),
    ("prompt: hi\nk: 0x" + "f" * 300, 6, "topk: option 'k' must be at most 1000, got"),
    ("prompt: hi\nk: '" + "x" * 60_000 + "'", 6, "topk: option 'k' must be a whole number, got 'xxxx"),
    ("prompt: hi\nmodel: '~nosuchuser123/m'", 6, "topk: cannot use model '~nosuchuser123/m'"),
    ("prompt: hi\nmodel: '" + "y" * 300 + "'", 6, "topk: cannot use model 'yyyy"),
    ("prompt: hi\nmodel: ''", 6, "topk: option 'model' must not be empty"),
    ("prompt: hi\nnull: x", 6, "topk: unknown option 'None'"),
    ("<<: {prompt: first}\nprompt: second", 5, "lmreport block: YAML merge keys (<<) are not allowed"),
])
def test_odd_values_are_short_errors_at_their_line(tmp_path, tiny_models, block, line, message):
    write_lesson(tmp_path / "lessons", "01-a.md", f"# A\n\n```lmreport\nanalysis: topk\n{block}\n```\n")
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert [(x.line, x.message[: len(message)]) for x in e.value.errors] == [(line, message)]
    assert len(str(e.value)) < 600


def test_lone_surrogate_in_front_matter_is_an_error(tmp_path):
    line, message = one_error('---\ntitle: "a\\ud800"\n---\n')
    assert (line, message) == (2, "front matter 'title' contains the control character U+D800")


def test_output_dot_and_root_are_clear_errors(tmp_path, tiny_models, capsys, monkeypatch):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["build", "lessons", "-o", ".", "--model", str(tiny_models["gpt2"])]) == 1
    assert cli.main(["build", "lessons", "-o", "/", "--model", str(tiny_models["gpt2"])]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "error: the site folder '.' would hold the lessons 'lessons'" in err
    assert "error: cannot write the site into '/': it is the root of the file system" in err


def test_a_long_file_name_is_an_error_before_any_model_work(tmp_path, tiny_models, forget_models):
    from lmreport import models

    write_lesson(tmp_path / "lessons", "a" * 200 + ".md", "# a\n\n" + BLOCK)
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert [(x.line, x.message[:27]) for x in e.value.errors] == [(1, "file name is 200 characters")]
    assert models._LOADED == {}


# 10. nothing is silently lost


def test_a_byte_order_mark_keeps_the_front_matter():
    lesson, errors, _ = parse("\ufeff---\ntitle: Kept\nmodel: x\n---\n# Heading\n")
    assert errors == [] and (lesson.title, lesson.model) == ("Kept", "x")


def test_duplicate_keys_are_errors_in_front_matter_and_course_file(tmp_path, tiny_models):
    assert one_error("---\ntitle: A\ntitle: B\n---\n") == (3, "front matter: 'title' is given twice")
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / "lessons" / "course.yml").write_text("title: A\ndescription: d\ntitle: B\n")
    with pytest.raises(BuildFailed, match=r"course.yml:3: course.yml: 'title' is given twice"):
        build(build_options(tmp_path, tiny_models["gpt2"]))


def test_blocks_in_lists_and_quotes_are_run(tmp_path, tiny_models):
    text = ("# A\n\n- a list item\n\n  ```lmreport\n  analysis: topk\n  prompt: The capital of\n  k: 3\n  ```\n\n"
            "> a quote\n>\n> ```lmreport\n> analysis: topk\n> prompt: The capital\n> ```\n")
    lesson, errors, _ = parse(text)
    assert errors == [] and [(d.line, d.line_of("k"), d.params["prompt"]) for d in lesson.directives] == [
        (5, 8, "The capital of"), (13, 13, "The capital")]
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    page = (tmp_path / "site" / "01-a.html").read_text()
    page = page[page.index("<article"):]
    assert page.count('class="lmreport-figure') == 2 and "lmreportslot" not in page
    assert page.index("<li>") < page.index("lmreport-figure") < page.index("</li>")
    assert page.index("<blockquote>") < page.rindex("lmreport-figure") < page.index("</blockquote>")


def test_a_file_name_with_a_newline_is_refused(tmp_path):
    write_lesson(tmp_path, "01-a\n.md", "# a\n")
    result = scan_lessons(tmp_path)
    assert [str(e).split("/")[-1] for e in result.errors] == [
        "01-a\\x0a.md:1: file name '01-a\\x0a.md' makes a bad page name: use letters, digits, '-' and '_', "
        "starting with a letter or digit"]


def test_an_unclosed_block_in_a_quote_is_an_error():
    assert one_error("> ```lmreport\n> analysis: topk\n\nafter\n") == (1, "```lmreport block is never closed")


# 11. control characters never reach a page raw, nor a terminal


def test_escape_in_a_block_title_is_refused():
    lesson, errors, _ = parse('```lmreport\nanalysis: topk\nprompt: hi\ntitle: "a\\eb"\n```\n')
    from lmreport.analyses import REGISTRY

    _, option_errors = REGISTRY["topk"].validate(lesson.directives[0])
    assert [(e.line, e.message) for e in option_errors] == [
        (4, "topk: option 'title' contains the control character U+001B at character 2")]


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


def test_control_characters_in_prose_are_errors_at_their_line():
    assert one_error("# A\n\nfine\n\nan \x1b[2J escape\n") == (5, "the control character U+001B in the lesson: "
                                                                  "remove it")


# 12. line numbers count '\n' only; YAML-only line breaks are refused


@pytest.mark.parametrize("separator", ["\u2028", "\f", "\u2029"])
def test_separators_in_prose_do_not_shift_line_numbers(separator):
    text = f"# A\n\nprose{separator}more{separator}and more\n\n```lmreport\nanalysis: nope\n```\n"
    lesson, errors, _ = parse(text)
    assert errors == [] and lesson.directives[0].line == 5


def test_next_line_in_prose_is_an_error_at_its_own_line():
    assert one_error("# A\n\nx\x85y\n\nz\n") == (3, "the control character U+0085 in the lesson: remove it")


def test_a_line_separator_inside_a_yaml_value_is_an_error_not_a_space():
    line, message = one_error('# A\n\n```lmreport\nanalysis: topk\nprompt: "a\u2028b"\n```\n')
    assert line == 5 and message.startswith("lmreport block: contains U+2028 (LINE SEPARATOR)")


def test_crlf_and_cr_line_endings_keep_lines():
    for newline in ("\r\n", "\r"):
        text = newline.join(["# A", "", "text", "", "```lmreport", "analysis: topk", "prompt: hi", "kk: 1", "```", ""])
        lesson, errors, _ = parse(text)
        assert errors == [] and (lesson.directives[0].line, lesson.directives[0].line_of("kk")) == (5, 8)


# 14. every bad link, at its own line; text that only looks like a link is fine


def test_every_bad_link_is_reported_at_its_line():
    text = ("# A\n\n[one](javascript:alert(1)) and\n[two](vbscript:x)\n\n| a | b |\n|---|---|\n"
            "| [three](data:text/html,x) | 2 |\n\n[four](javascript&colon;alert(1))\n")
    _, errors, _ = parse(text)
    assert [(e.line, e.message.split(" is not")[0]) for e in errors] == [
        (3, "link to 'javascript:alert(1)'"), (4, "link to 'vbscript:x'"), (8, "link to 'data:text/html,x'"),
        (10, "link to 'javascript:alert(1)'")]


# 15. output paths are checked before any model work; a symlinked output stays a link


def test_output_equal_to_cache_is_refused_before_any_model_work(tmp_path, tiny_models, forget_models):
    from lmreport import models

    write_lesson(tmp_path / "lessons", "01-a.md", BLOCK)
    for cache in (tmp_path / "site", tmp_path / "site" / "cache", tmp_path):
        with pytest.raises(LmreportError, match="overlap"):
            build(build_options(tmp_path, tiny_models["gpt2"], site_dir=tmp_path / "site", cache_dir=cache))
    assert models._LOADED == {}


def test_a_symlinked_output_stays_a_link(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / "real").mkdir()
    (tmp_path / "site").symlink_to(tmp_path / "real")
    for _ in range(2):
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert (tmp_path / "site").is_symlink() and (tmp_path / "real" / "01-a.html").is_file()
    assert sorted(os.listdir(tmp_path)) == ["lessons", "real", "site"]


# Found by a second, adversarial look at the same classes


def test_generation_settings_must_be_finite(tmp_path, tiny_models):
    block = "analysis: generate\nprompt: hi\nsample: true\ntemperature: .nan"
    write_lesson(tmp_path / "lessons", "01-a.md", f"```lmreport\n{block}\n```\n")
    with pytest.raises(BuildFailed, match="01-a.md:5: generate: option 'temperature' must be a finite number"):
        build(build_options(tmp_path, tiny_models["gpt2"]))


def test_a_huge_order_is_an_error_not_an_overflow():
    assert one_error("---\norder: " + "9" * 400 + "\n---\n") == (2, "front matter 'order' must be a finite number")


def test_front_matter_ends_at_the_margin_and_a_rule_is_not_silently_eaten():
    lesson, errors, _ = parse("---\ntitle: T\ndescription: |\n  text\n  ---\n  more\n---\n# Body\n")
    assert errors == [] and lesson.title == "T" and lesson.description == "text\n---\nmore"
    lesson, errors, warnings = parse("---\n# Big title\n---\n\nbody\n")
    assert errors == [] and [(w.line, w.message[:40]) for w in warnings] == [
        (2, "the lines between the first two '---' ar")]


def test_a_long_output_name_is_a_clear_error(tmp_path, tiny_models, capsys):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    code = cli.main(["build", str(tmp_path / "lessons"), "-o", str(tmp_path / ("s" * 300)),
                     "--model", str(tiny_models["gpt2"])])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "error: cannot use the folders given: File name too long" in err


def test_serve_answers_odd_requests_and_aborted_downloads_quietly(tmp_path, tiny_models, capfd):
    import socket

    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    build(build_options(tmp_path, tiny_models["gpt2"]))
    server = start_server(tmp_path / "site", "127.0.0.1", 0)
    try:
        with socket.create_connection(("127.0.0.1", server.server_port)) as s:
            s.sendall(b"GET http://[/x HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.0 404")
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", server.server_port)) as s:
                s.sendall(b"GET /assets/bokeh.min.js HTTP/1.1\r\nHost: x\r\n\r\n")
                s.recv(100)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        time.sleep(0.5)
        assert get(server, "/01-a.html")[0] == 200
    finally:
        server.shutdown()
    assert "Traceback" not in capfd.readouterr().err


def test_serve_refuses_folders_a_build_would_refuse(tmp_path, tiny_models):
    from lmreport.serve import serve

    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / ".lmreport-site").write_text("stray marker")
    (tmp_path / "secret.env").write_text("API_KEY=secret")
    options = BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path, model=str(tiny_models["gpt2"]),
                           cache_dir=tmp_path / "cache", progress=False)
    with pytest.raises(LmreportError, match="would hold the lessons"):
        serve(options, port=0)


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


def test_files_that_are_not_lessons_are_named_not_skipped(tmp_path, tiny_models):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# a\n")
    write_lesson(lessons, "02-b.MD", "# b\n")
    os.mkfifo(lessons / "03-c.md")
    (lessons / "04-d.md").symlink_to(lessons / "nowhere.md")
    result = scan_lessons(lessons)
    assert sorted(str(e).split("lessons/")[1] for e in result.errors) == [
        "03-c.md:1: is not a regular file; not read", "04-d.md:1: is a link to nothing; not read"]
    assert [str(w).split("lessons/")[1] for w in result.warnings] == [
        "02-b.MD:1: not read: lesson files end in '.md', not '.MD'"]
    (lessons / "03-c.md").unlink()
    (lessons / "04-d.md").unlink()
    (lessons / "course.yaml").write_text("title: x\n")
    with pytest.raises(BuildFailed, match=r"course.yaml:1: not read: the course file is named course.yml"):
        build(build_options(tmp_path, tiny_models["gpt2"]))


def test_images_that_climb_out_of_the_site_are_refused():
    for image in ("../outside.png", "%2e%2e/o.png", "img/../../../../etc/passwd"):
        line, message = one_error(f"# A\n\n![x]({image})\n")
        assert line == 3 and "is outside the site" in message
    assert parse("# A\n\n![x](img/../ok.png) [up](../other.html)\n")[1] == []


def test_lines_after_multi_line_code_alt_text_and_titles_are_right():
    for inline in ("some `code\nspan` here", "![alt\ntext](a.png)", '[a](http://x "ti\ntle")', "[a `b\nc`](http://x)"):
        assert one_error(f"# A\n\n{inline}\n[bad](javascript:1)\n")[0] == 5, inline


def test_headings_cannot_take_a_figures_id(tmp_path, tiny_models):
    text = "# A\n\n## Fig 1 data\n\n## Fig 1\n\n```lmreport\nanalysis: attention\nprompt: The capital of\n```\n"
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert page.count('id="fig-1"') == 1 and page.count('id="fig-1-data"') == 1
    assert 'id="section-fig-1-data"' in page and 'id="section-fig-1"' in page
