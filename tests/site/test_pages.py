"""Pages: a heading never takes a figure's id, and a figure's notes are shown with it."""

from __future__ import annotations

import json

from lmreport.build import build
from lmreport.views.figure import display_token
from tests.conftest import build_options, write_lesson


def test_headings_cannot_take_a_figures_id(tmp_path, tiny_models):
    text = "# A\n\n## Fig 1 data\n\n## Fig 1\n\n```lmreport\nanalysis: attention\nprompt: The capital of\n```\n"
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert page.count('id="fig-1"') == 1 and page.count('id="fig-1-data"') == 1
    assert 'id="section-fig-1-data"' in page and 'id="section-fig-1"' in page


def test_notes_are_shown_with_the_figure(tmp_path, tiny_models):
    text = '```lmreport\nanalysis: compare_tokens\nprompt: The key\ntokens: ["is", " the"]\n```\n'
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert '<p class="figure-note">&#39;is&#39; has no leading space; &#39; is&#39; is a different token' in page


def test_a_number_of_the_prose_in_a_heading_shows_as_its_value_everywhere_the_heading_does(tmp_path, tiny_models):
    """<title>, the lesson list, "On this page" and the search index read a heading's number as the page shows
    it, not its source (`=tk.top_prob`)."""
    text = ("# Sure at `=tk.top_prob:.1%`\n\n```lmreport\nanalysis: topk\nid: tk\nprompt: The keys to the\n```\n\n"
            "## Top is `=tk.top`\n\nText.\n\n## More\n\nText.\n")
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    data = json.loads((tmp_path / "site" / "data" / "01-a-1-topk.json").read_text())["data"]
    top = data["predictions"][0]
    probability, token = f"{top['prob']:.1%}", display_token(top["token"])
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert f"<title>Sure at {probability} · " in page
    assert f'aria-current="page"><a href="01-a.html">Sure at {probability}</a>' in page
    toc = page[page.index('class="toc-title"'):]
    assert f"Top is {token}" in toc[:toc.index("</nav>")]
    assert "=tk.top" not in page.split("<main", 1)[0]
    index = (tmp_path / "site" / "index.html").read_text()
    assert f"Sure at {probability}" in index and "=tk.top" not in index
    assert f"Sure at {probability}" in (tmp_path / "site" / "assets" / "search-index.js").read_text()
