"""Pages: a heading never takes a figure's id, and a figure's notes are shown with it."""

from __future__ import annotations

from lmreport.build import build
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
