"""The markdown course authors expect (math, admonitions, footnotes, task lists, highlighted code, permalinks,
a table of contents), links between lessons, files lessons link to, and what the site folder keeps."""

from __future__ import annotations

import re

import pytest

from lmreport.build import BuildOptions, build
from lmreport.errors import BuildFailed, LmreportError

from .conftest import write_lesson

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def opts(root, **kw) -> BuildOptions:
    return BuildOptions(**{"lessons_dir": root / "lessons", "site_dir": root / "site", "cache_dir": root / "cache",
                           "progress": False, **kw})


def test_markdown_extras_render_and_stay_safe(tmp_path):
    write_lesson(tmp_path / "lessons", "01-a.md", r"""# Softmax

## The formula

Token $i$ gets $p_i = e^{z_i} / \sum_j e^{z_j}$; prices like $5 and $10 stay text; $<img src=x>$ is text too.

$$
\frac{a}{b} < c
$$

!!! note "A <b>title</b>"
    Inside a **note**.

- [x] done
- [ ] to do

A claim[^src].

[^src]: Where it comes from <i>.

```python
probs = softmax(logits)  # <script>
```

## The end
""")
    build(opts(tmp_path))
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert r'<span class="math inline">\(i\)</span>' in page
    assert r'<div class="math block">' in page and r"\[\frac{a}{b} &lt; c\]" in page
    assert "$5 and $10 stay text" in page and "&lt;img src=x&gt;" in page and "<img src=x" not in page
    assert '<div class="admonition note">' in page and "A &lt;b&gt;title&lt;/b&gt;" in page
    assert page.count('class="task-list-item-checkbox"') == 2 and 'type="checkbox" disabled checked> done' in page
    assert 'href="#fn1"' in page and 'id="fn1"' in page and "&lt;i&gt;" in page
    assert '<span class="c1"># &lt;script&gt;</span>' in page  # Pygments' classes, the text escaped
    assert '<a class="permalink" href="#the-formula"' in page
    toc = re.search(r'<nav class="toc".*?</nav>', page, re.S)[0]
    assert 'href="#the-formula">The formula' in toc and 'href="#the-end">The end' in toc
    # MathJax from the site's own assets, with its fonts, only because a page has math.
    assert '<script src="assets/mathjax-config.js"></script>' in page
    assert '<script src="assets/mathjax/tex-chtml.js"></script>' in page
    assert (tmp_path / "site/assets/mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff").is_file()
    config = (tmp_path / "site/assets/mathjax-config.js").read_text()
    assert '"autoload", "require"' in config  # nothing loaded from elsewhere, no \href


def test_no_math_no_mathjax(tmp_path):
    write_lesson(tmp_path / "lessons", "01-a.md", "# A\n\nNo math, $5.\n")
    build(opts(tmp_path))
    assert not (tmp_path / "site/assets/mathjax").exists()
    assert "mathjax" not in (tmp_path / "site/01-a.html").read_text()


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


def test_site_keeps_nojekyll_extra_files_and_a_hand_added_cname(tmp_path):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# A\n")
    build(opts(tmp_path))
    assert (tmp_path / "site" / ".nojekyll").is_file()
    (tmp_path / "site" / "CNAME").write_text("course.example.org\n")  # added by hand after a build
    build(opts(tmp_path))
    assert (tmp_path / "site" / "CNAME").read_text() == "course.example.org\n"
    (lessons / "extra" / ".well-known").mkdir(parents=True)
    (lessons / "extra" / "CNAME").write_text("lessons.example.org\n")
    (lessons / "extra" / "robots.txt").write_text("User-agent: *\n")
    (lessons / "extra" / ".well-known" / "security.txt").write_text("Contact: x\n")
    build(opts(tmp_path))
    assert (tmp_path / "site" / "CNAME").read_text() == "lessons.example.org\n"
    assert (tmp_path / "site" / "robots.txt").is_file() and (tmp_path / "site/.well-known/security.txt").is_file()
    (lessons / "extra" / "index.html").write_text("mine")
    with pytest.raises(LmreportError, match="would replace the site's own 'index.html'"):
        build(opts(tmp_path))
    assert (tmp_path / "site" / "CNAME").read_text() == "lessons.example.org\n"  # the previous site is intact


def test_errors_a_newcomer_meets(tmp_path, capsys):
    from lmreport.cli import main

    write_lesson(tmp_path / "lessons", "01-a.md", '# A\n\n```lmreport\nanalysis: compare_tokens\nprompt: hi\n'
                 'tokens: " is", " are"\n```\n\n```lmreport\nanalysis: topk\nprompt: hi\npromt: hi\n```\n')
    assert main(["build", str(tmp_path / "lessons"), "-o", str(tmp_path / "site"), "--cache-dir",
                 str(tmp_path / "cache")]) == 1
    err = capsys.readouterr().err
    assert "01-a.md:6: lmreport block: malformed YAML: expected <block end>, but found ',' (several values make " \
           "a list: write it in brackets, e.g. tokens: [\" is\", \" are\"])" in err
    assert "01-a.md:12: topk: unknown option 'promt' (valid: prompt, k, position, temperature, title, model, id); " \
           "did you mean 'prompt'?" in err
    assert err.rstrip().endswith("build failed: 2 errors; no site was written")  # there was none to keep
    assert main(["build", str(tmp_path / "nowhere"), "-o", str(tmp_path / "site")]) == 1
    assert capsys.readouterr().err.splitlines()[0] == f"{(tmp_path / 'nowhere').as_posix()}: no such folder"


def test_one_course_config_with_command_line_overrides(tmp_path, tiny_models, capsys, caplog):
    import shutil

    from lmreport.cli import main

    shutil.copytree(tiny_models["gpt2"], tmp_path / "models" / "tiny")
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# A\n\n```lmreport\nanalysis: topk\nprompt: The key is\n```\n")
    (lessons / "course.yml").write_text("title: A course\nauthor: Ada <ada@example.org>\n"
                                        "base_url: https://ada.example.org/course\nmodel: ../models/tiny\n"
                                        "output: ../public\ncolour: blue\n")
    code = main(["build", str(lessons), "--cache-dir", str(tmp_path / "cache"), "--title", "Overridden"])
    warned = [r for r in caplog.records if "unknown key 'colour'" in r.getMessage()]
    assert code == 0 and len(warned) == 1 and warned[0].levelname == "WARNING"  # a warning, printed once
    site = tmp_path / "public"  # course.yml's output, read from the lessons folder
    page = (site / "01-a.html").read_text()
    assert "<title>A · Overridden</title>" in page and "A course by Ada &lt;ada@example.org&gt;." in page
    assert '<link rel="canonical" href="https://ada.example.org/course/01-a.html">' in page
    assert "<strong>tiny</strong>" in page  # the model course.yml names, from the lessons folder
    sitemap = (site / "sitemap.xml").read_text()
    assert "<loc>https://ada.example.org/course/</loc>" in sitemap
    assert "<loc>https://ada.example.org/course/01-a.html</loc>" in sitemap
    # The command line wins over course.yml.
    assert main(["build", str(lessons), "-o", str(tmp_path / "other"), "--cache-dir", str(tmp_path / "cache"),
                 "--base-url", "https://elsewhere.example.org/x/", "--model", str(tiny_models["llama"])]) == 0
    page = (tmp_path / "other" / "01-a.html").read_text()
    assert 'href="https://elsewhere.example.org/x/01-a.html"' in page and "<strong>llama</strong>" in page
    assert main(["build", str(lessons), "--base-url", "javascript:alert(1)"]) == 1
    assert "--base-url: must be the address the site is published at" in capsys.readouterr().err


def test_mmltoken_is_refused_anywhere_and_emptied_in_mathjax(tmp_path):
    """MathJax's \\mmlToken sets HTML attributes (a javascript: link, a style loading an outside image)."""
    write_lesson(tmp_path / "lessons", "01-a.md", "# A\n\nClick $\\mmlToken{mi}[href=\"javascript:x()\"]{z}$\n\n"
                 "!!! math\n    \\(\\mmlToken{mi}[style=\"background:url(http://x.example/a.png)\"]{y}\\)\n")
    with pytest.raises(BuildFailed) as e:
        build(opts(tmp_path))
    assert [(x.line, x.message[:30]) for x in e.value.errors] == [(3, "\\mmlToken is not allowed: it s"),
                                                                 (6, "\\mmlToken is not allowed: it s")]
    write_lesson(tmp_path / "lessons", "01-a.md", "# A\n\n$x$\n")
    build(opts(tmp_path))
    assert 'macros: { mmlToken: "" }' in (tmp_path / "site/assets/mathjax-config.js").read_text()


def test_task_lists_stay_linear():
    import time

    from lmreport.source import markdown as prose

    started = time.perf_counter()
    tokens = prose.parse("- [ ] x\n" * 20_000)  # mdit-py-plugins' rule took over a minute for this
    html = prose.render(tokens, "n")
    assert html.count('type="checkbox"') == 20_000 and time.perf_counter() - started < 15


def test_link_targets_encoded_non_ascii_hidden_and_colliding(tmp_path, tiny_models):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# A\n\n## Über\n\n[u](#%C3%BCber) [g](02-b.md#gr%C3%B6%C3%9Fe) [h](a%23b.png) "
                 "[q](02-b.md?x=1#gr%C3%B6%C3%9Fe) [v](img.png?v=2)\n\n[e](.env)\n\n[s](sitemap.xml)\n\n[f](#fig-1) "
                 "[f9](#fig-9)\n\n```lmreport\nanalysis: topk\nprompt: The key is\n```\n")
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
    ]
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert 'href="a%23b.png"' in page and 'href="02-b.html?x=1#gr%C3%B6%C3%9Fe"' in page
    assert 'href="img.png?v=2"' in page and 'href="02-b.html#gr%C3%B6%C3%9Fe"' in page
    assert (tmp_path / "site" / "a#b.png").read_bytes() == PNG and not (tmp_path / "site" / ".env").exists()
    assert "<loc>" in (tmp_path / "site" / "sitemap.xml").read_text()


def test_extra_folder_must_be_inside_the_lessons_folder(tmp_path):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# A\n")
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "passwd").write_text("TOPSECRET")
    for extra in ("../secret", str(tmp_path / "secret")):
        with pytest.raises(LmreportError, match="is not inside the lessons folder"):
            build(opts(tmp_path, course={"extra": extra}))
    (lessons / "extra").symlink_to(tmp_path / "secret")
    with pytest.raises(LmreportError, match="is not inside the lessons folder"):
        build(opts(tmp_path))
    with pytest.raises(LmreportError, match="cannot use the extra folder"):
        build(opts(tmp_path, course={"extra": "a" * 300}))
    assert not (tmp_path / "site").exists()


def test_a_linked_file_cannot_replace_a_model_folder_page(tmp_path, tiny_models):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# A\n\n[e](llama/01-a.html)\n")
    (lessons / "llama").mkdir()
    (lessons / "llama" / "01-a.html").write_text("<h1>REPLACED</h1>")
    with pytest.raises(LmreportError, match="would replace the site's own 'llama/01-a.html'"):
        build(opts(tmp_path, models=(str(tiny_models["gpt2"]), str(tiny_models["llama"]))))


def test_init_errors_and_line_separators(tmp_path, capsys):
    from lmreport.cli import main
    from lmreport.source.course import read_course

    (tmp_path / "f").write_text("a file")
    assert main(["init", str(tmp_path / "f" / "sub")]) == 1
    assert "cannot write the course into" in capsys.readouterr().err
    assert main(["init", str(tmp_path / "c"), "--title", "a\u2028b\u2029c"]) == 0
    course = read_course(tmp_path / "c" / "lessons")
    assert course.errors == [] and course.settings["title"] == "a\u2028b\u2029c"
    assert main(["init", str(tmp_path / "d"), "--author", "bell\a"]) == 1
    assert "--author contains the control character U+0007" in capsys.readouterr().err


@pytest.mark.parametrize("url", ['https://x.org/a"b<c>/', "javascript:alert(1)", "https://x.org/a b"])
def test_bad_base_urls_are_refused(tmp_path, url):
    write_lesson(tmp_path / "lessons", "01-a.md", "# A\n")
    with pytest.raises(LmreportError, match="--base-url: must be the address"):
        build(opts(tmp_path, course={"base_url": url}))


def test_a_token_in_a_code_span_shows_its_leading_space_as_figures_do():
    from lmreport.source import markdown as prose

    html = prose.render(prose.parse("After ` Paris` or ` <b>`, not `Paris`, `a b` or `  two`.\n"), "n")
    assert '<code class="token">\u2423Paris</code>' in html and '<code class="token">\u2423&lt;b&gt;</code>' in html
    assert "<code>Paris</code>" in html and "<code>a b</code>" in html and "<code>  two</code>" in html
