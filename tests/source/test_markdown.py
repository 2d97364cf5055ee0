"""The markdown course authors expect (math, admonitions, footnotes, task lists, highlighted code, permalinks,
a table of contents), with user text kept as text and the work bounded whatever the input."""

from __future__ import annotations

import re
import time

import pytest

from lmreport.build import build
from lmreport.errors import BuildFailed, LessonError
from lmreport.site.fragments import lesson_html
from tests.conftest import opts, write_lesson
from tests.source.helpers import BLOCK, parse


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


def test_a_token_in_a_code_span_shows_its_leading_space_as_figures_do():
    from lmreport.source import markdown as prose

    html = prose.render(prose.parse("After ` Paris` or ` <b>`, not `Paris`, `a b` or `  two`.\n"), "n")
    assert '<code class="token">\u2423Paris</code>' in html and '<code class="token">\u2423&lt;b&gt;</code>' in html
    assert "<code>Paris</code>" in html and "<code>a b</code>" in html and "<code>  two</code>" in html


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


def test_an_admonition_body_indented_too_little_is_a_warning_at_its_line():
    text = '---\ntitle: A\n---\n\n# A\n\n!!! note "Mind this"\n  indented two spaces\n\nafter\n'
    lesson, errors, warnings = parse(text)
    assert errors == [] and [(w.line, "indented 2 spaces" in w.message) for w in warnings] == [(8, True)]
    assert "body of the admonition above must be indented 4" in warnings[0].message
    fine = '# A\n\n!!! note "Mind this"\n    indented four\n\n!!! tip "Only a title"\n\nafter\n'
    assert parse(fine)[2] == []
