"""Links and images in lessons: links between lessons and the files lessons link to; a link that runs script
or an image that leaves the site is an error at its line, a broken link a warning."""

from __future__ import annotations

import pytest

from lmreport.build import build
from lmreport.errors import BuildFailed
from lmreport.site.fragments import lesson_html
from tests.conftest import opts, write_lesson
from tests.source.helpers import one_error, parse

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


LINKS = """# One

## Start

See [two](02-two.md), [its end](02-two.md#the-end), [here](#start), ![pic](img/p.png)
and [the data](files/table.csv).
"""


def test_links_between_lessons_and_files_they_link_to(tmp_path):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-one.md", LINKS)
    write_lesson(lessons, "02-two.md", "# Two\n\n## The end\n\n[back](01-one.md#start)\n")
    (lessons / "img").mkdir()
    (lessons / "img" / "p.png").write_bytes(PNG)
    (lessons / "files").mkdir()
    (lessons / "files" / "table.csv").write_text("a,b\n1,2\n")
    summary = build(opts(tmp_path))
    assert summary.warnings == []
    page = (tmp_path / "site" / "01-one.html").read_text()
    for href in ('href="02-two.html"', 'href="02-two.html#the-end"', 'href="#start"', 'src="img/p.png"',
                 'href="files/table.csv"'):
        assert href in page
    assert (tmp_path / "site/img/p.png").read_bytes() == PNG
    assert (tmp_path / "site/files/table.csv").read_text() == "a,b\n1,2\n"
    assert 'href="01-one.html#start"' in (tmp_path / "site" / "02-two.html").read_text()


def test_broken_links_are_warnings_at_their_line_and_errors_with_strict(tmp_path):
    write_lesson(tmp_path / "lessons", "01-one.md", "# One\n\n[x](03-three.md)\n\n[y](02-two.md#nowhere) "
                 "[z](#nope)\n\n![p](img/missing.png)\n\n[w](../outside.txt)\n")
    write_lesson(tmp_path / "lessons", "02-two.md", "# Two\n\n## The end\n")
    summary = build(opts(tmp_path))
    found = [w.split("lessons/")[1] for w in summary.warnings]
    assert found == [
        "01-one.md:3: link to '03-three.md': no such lesson in the lessons folder",
        "01-one.md:5: link to '02-two.md#nowhere': 02-two.md has no heading '#nowhere' (headings: the-end, two)",
        "01-one.md:5: link to '#nope': no such heading on this page (headings: one)",
        "01-one.md:7: image 'img/missing.png' does not exist in the lessons folder",
        "01-one.md:9: '../outside.txt' is outside the lessons folder: it cannot be part of the site",
    ]
    with pytest.raises(BuildFailed) as e:
        build(opts(tmp_path, strict=True))
    assert len(e.value.errors) == 5


def test_link_targets_encoded_non_ascii_hidden_and_colliding(tmp_path, tiny_models):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# A\n\n## Über\n\n[u](#%C3%BCber) [g](02-b.md#gr%C3%B6%C3%9Fe) [h](a%23b.png) "
                 "[q](02-b.md?x=1#gr%C3%B6%C3%9Fe) [v](img.png?v=2)\n\n[e](.env)\n\n[s](sitemap.xml)\n\n[f](#fig-1) "
                 "[f9](#fig-9)\n\n[b](02-b.html)\n\n```lmreport\nanalysis: topk\nprompt: The key is\n```\n")
    write_lesson(lessons, "02-b.md", "# B\n\n## Größe\n")
    (lessons / "a#b.png").write_bytes(PNG)
    (lessons / "img.png").write_bytes(PNG)
    (lessons / ".env").write_text("SECRET=1")
    (lessons / "sitemap.xml").write_text("x")
    summary = build(opts(tmp_path, model=str(tiny_models["gpt2"]), course={"base_url": "https://x.example/c/"}))
    assert [w.split("lessons/")[1] for w in summary.warnings] == [
        "01-a.md:7: '.env' is a hidden file: hidden files are not copied into the site",
        "01-a.md:9: 'sitemap.xml' would overwrite the site's own 'sitemap.xml': rename it",
        "01-a.md:11: link to '#fig-9': no such heading on this page (headings: a, fig-1, über)",
        "01-a.md:13: link to '02-b.html': to link to a lesson, name its file: 02-b.md",
    ]
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert 'href="a%23b.png"' in page and 'href="02-b.html?x=1#gr%C3%B6%C3%9Fe"' in page
    assert 'href="img.png?v=2"' in page and 'href="02-b.html#gr%C3%B6%C3%9Fe"' in page
    assert (tmp_path / "site" / "a#b.png").read_bytes() == PNG and not (tmp_path / "site" / ".env").exists()
    assert "<loc>" in (tmp_path / "site" / "sitemap.xml").read_text()


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


def test_every_bad_link_is_reported_at_its_line():
    text = ("# A\n\n[one](javascript:alert(1)) and\n[two](vbscript:x)\n\n| a | b |\n|---|---|\n"
            "| [three](data:text/html,x) | 2 |\n\n[four](javascript&colon;alert(1))\n")
    _, errors, _ = parse(text)
    assert [(e.line, e.message.split(" is not")[0]) for e in errors] == [
        (3, "link to 'javascript:alert(1)'"), (4, "link to 'vbscript:x'"), (8, "link to 'data:text/html,x'"),
        (10, "link to 'javascript:alert(1)'")]


def test_images_that_climb_out_of_the_site_are_refused():
    for image in ("../outside.png", "%2e%2e/o.png", "img/../../../../etc/passwd"):
        line, message = one_error(f"# A\n\n![x]({image})\n")
        assert line == 3 and "is outside the site" in message
    assert parse("# A\n\n![x](img/../ok.png) [up](../other.html)\n")[1] == []
