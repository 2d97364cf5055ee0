"""Hostile text in lessons reaches the pages as text: escaped in the HTML and shown as typed, running none of
it, in a real browser."""

from __future__ import annotations

import json
import time

import pytest

from lmreport.build import BuildOptions, build
from lmreport.errors import BuildFailed
from tests import browser
from tests.conftest import write_lesson

SCRIPT = "</script><script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
QUOTES = "\"double\" and 'single' quotes"
BACKSLASH = "back\\slash \\n \\u0041"
TEMPLATE = "{{ 7*7 }} {% if true %}x{% endif %}"
RTL = "right\u202eto\u200fleft"
EMOJI = "emoji 🙂🚀 漢字"
LITERAL = [SCRIPT, IMG, QUOTES, BACKSLASH, TEMPLATE, RTL, EMOJI]


def yaml_quote(text: str) -> str:
    """A YAML double-quoted scalar for any text (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def hostile_lesson() -> str:
    title = " ".join(LITERAL)
    blocks = []
    for i, text in enumerate(LITERAL):
        analysis = ["topk", "logit_lens", "attention", "rank_evolution", "hidden_states", "topk", "generate"][i]
        quoted = yaml_quote(text)
        blocks.append(f"```lmreport\nanalysis: {analysis}\nprompt: {quoted}\ntitle: {quoted}\n```\n")
    blocks.append("```lmreport\nanalysis: compare_prompts\n"
                  f"prompts: [{yaml_quote(SCRIPT)}, {yaml_quote(IMG)}]\ntokens: [\" the\", \" is\"]\n```\n")
    body = "\n".join(f"Prose with {t} in it.\n" for t in LITERAL)
    return (f"---\ntitle: {yaml_quote(title)}\ndescription: {yaml_quote(IMG + TEMPLATE)}\n---\n\n"
            f"# Heading {SCRIPT} {IMG}\n\n{body}\n" + "\n".join(blocks))


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory, tiny_models):
    root = tmp_path_factory.mktemp("hostile")
    write_lesson(root / "lessons", "01-hostile.md", hostile_lesson())
    build(BuildOptions(lessons_dir=root / "lessons", site_dir=root / "site", model=str(tiny_models["gpt2"]),
                       cache_dir=root / "cache", progress=False))
    return root / "site"


def test_no_markup_from_user_text_reaches_the_page(hostile_site):
    page = (hostile_site / "01-hostile.html").read_text()
    assert "<img src=x" not in page and "<script>alert" not in page
    assert "{{ 7*7 }}" in page and "{% if true %}" in page
    index = (hostile_site / "index.html").read_text()
    assert "<img src=x" not in index and "&lt;img src=x onerror=alert(1)&gt;" in index


@pytest.mark.browser
@pytest.mark.skipif(not browser.available(), reason="needs Debian's chromium and chromium-driver")
def test_browser_shows_hostile_text_as_typed_and_runs_none_of_it(hostile_site):
    from selenium.webdriver.common.by import By

    record = ("window.__dialogs = []; for (const f of ['alert', 'confirm', 'prompt']) "
              "{ window[f] = (m) => { window.__dialogs.push(String(m)); }; }")
    with browser.chromium() as driver:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": record})
        for name in ("index.html", "01-hostile.html"):
            browser.console_errors(driver)
            driver.get((hostile_site / name).as_uri())
            time.sleep(1.5)
            assert driver.execute_script("return window.__dialogs") == [], name
            assert browser.console_errors(driver) == [], name
        title = " ".join(LITERAL)
        current = driver.find_element(By.CSS_SELECTOR, ".sidebar li.current a")
        assert current.get_attribute("textContent") == title
        assert driver.title.startswith(title)
        prompts = [q.get_attribute("textContent") for q in driver.find_elements(By.CSS_SELECTOR, ".figure-prompt q")]
        assert prompts[: len(LITERAL)] == LITERAL
        captions = [t.get_attribute("textContent") for t in driver.find_elements(By.CSS_SELECTOR, ".figure-title")]
        assert captions[: len(LITERAL)] == LITERAL
        heading = driver.execute_script("const h = document.querySelector('article h1').cloneNode(true); "
                                        "h.querySelector('.permalink').remove(); return h.textContent")
        assert heading == f"Heading {SCRIPT} {IMG}"  # the text as typed, beside its permalink
        drawn = driver.execute_script("return Bokeh.documents.length")
        assert drawn == len(driver.find_elements(By.CSS_SELECTOR, ".bk-figure[data-bk-doc]"))


def test_hostile_candidate_of_several_tokens_is_a_skip_shown_escaped(tmp_path, tiny_models):
    """A candidate that is several tokens for this model skips its block (another model may read it as one):
    the page says why, with the candidate escaped; --strict makes it an error at the block."""
    block = f"analysis: compare_tokens\nprompt: hi\ntokens: [{yaml_quote(IMG)}, \" is\"]"
    write_lesson(tmp_path / "lessons", "01-a.md", f"# A\n\n```lmreport\n{block}\n```\n")
    options = BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site",
                           model=str(tiny_models["gpt2"]), cache_dir=tmp_path / "cache", progress=False)
    summary = build(options)
    assert summary.skipped == 1 and "01-a.md:3: compare_tokens does not apply to gpt2: candidate '<img" in \
        summary.warnings[0]
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert "<img src=x" not in page
    assert "Not drawn: compare_tokens does not apply to gpt2: candidate &#39;&lt;img" in page
    options.strict = True
    with pytest.raises(BuildFailed) as e:
        build(options)
    assert [(x.line, x.message[:45]) for x in e.value.errors] == [(3, "compare_tokens does not apply to gpt2: candid")]
