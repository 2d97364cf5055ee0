"""The site's offline search index: the lessons' prose section by section (figures left out), readable by lunr;
and the 404 page."""

from __future__ import annotations

import json

from lunr.index import Index

from lmreport.build import BuildOptions, build
from lmreport.site import search
from tests.conftest import write_lesson

BODY = """<h1 id="first">First <a class="permalink" href="#first">¶</a></h1>
<p>Tokens meet the <em>embedding</em> table.</p>
<figure class="lmreport-figure"><figcaption>Prompt: zanzibar</figcaption><script>var x = "quokka";</script></figure>
<h2 id="later">Later words</h2><p>Attention heads look back.</p>
<nav class="toc"><p>Contents: platypus</p></nav>"""


def test_sections_keep_the_prose_and_leave_figures_out():
    docs = search.documents([("01-a.html", "Lesson A", BODY)])
    assert [(d["id"], d["title"]) for d in docs] == [("01-a.html#first", "First"), ("01-a.html#later", "Later words")]
    assert docs[0]["text"] == "Tokens meet the embedding table."
    text = " ".join(d["text"] for d in docs)
    assert "zanzibar" not in text and "quokka" not in text and "platypus" not in text


def test_the_index_finds_a_lesson_by_a_word_of_its_text():
    script = search.index_script([("01-a.html", "Lesson A", BODY), ("02-b.html", "Lesson B", "<p>Neurons fire.</p>")])
    assert script.startswith("window.lmreportSearch = ") and "</script" not in script.lower()
    payload = json.loads(script[len("window.lmreportSearch = "):].rstrip().rstrip(";"))
    index = Index.load(payload["index"])  # lunr.py reads what lunr.js reads
    assert [hit["ref"] for hit in index.search("heads")] == ["01-a.html#later"]
    assert [hit["ref"] for hit in index.search("neurons")] == ["02-b.html"]
    assert payload["docs"]["02-b.html"] == {"page": "02-b.html", "anchor": "", "title": "Lesson B",
                                            "lesson": "Lesson B", "excerpt": "Neurons fire."}


def test_a_built_site_has_its_index_the_search_box_and_a_404_page(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", "# Alpha <i>x</i>\n\nThe word serendipity lives here.\n")
    write_lesson(tmp_path / "lessons", "02-b.md", "# Beta\n\nNothing special.\n")
    write_lesson(tmp_path / "lessons", "course.yml", "title: Course\nbase_url: https://example.org/course/\n")
    site = tmp_path / "site"
    build(BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=site, model=str(tiny_models["gpt2"]),
                       cache_dir=tmp_path / "cache", progress=False))
    script = (site / "assets" / "search-index.js").read_text()
    assert "serendipity" in script and "<i>" not in script
    assert (site / "assets" / "lunr.js").read_text().lstrip().startswith("/**\n * lunr")
    page = (site / "01-a.html").read_text()
    assert '<form class="search" role="search" data-base="" data-pages="">' in page
    assert '<script src="assets/theme.js"></script>' in page and 'class="theme-toggle"' in page
    missing = (site / "404.html").read_text()
    assert "Page not found" in missing
    assert 'href="https://example.org/course/assets/lmreport.css"' in missing  # from any depth
    assert 'href="https://example.org/course/01-a.html"' in missing


def test_lessons_without_prose_still_give_an_index():
    assert search.index_script([]) == 'window.lmreportSearch = {"index": null, "docs": {}};\n'
    script = search.index_script([("a.html", "Alpha", '<h1 id="alpha">Alpha</h1><figure>only a figure</figure>')])
    payload = json.loads(script[len("window.lmreportSearch = "):].rstrip().rstrip(";"))
    assert [hit["ref"] for hit in Index.load(payload["index"]).search("alpha")] == ["a.html#alpha"]
