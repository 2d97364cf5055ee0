"""Numbers and claims in prose come from the build: checked before any model work, evaluated on the figures'
own numbers, n/a with a warning where a model does not give them, placed in linear time."""

from __future__ import annotations

import json
import re
import shutil
from html import unescape
from pathlib import Path

import pytest

from lmreport.analyses.topk import values as topk_values
from lmreport.build import build
from lmreport.errors import BuildFailed
from lmreport.glue.syntax import parse
from tests.conftest import REPO, build_options, write_lesson

LESSON = """# Numbers

```lmreport
analysis: topk
id: next
prompt: The capital of France is
k: 300
```

The top token is `=next.top`, at `=next.top_prob:.1%`; the entropy is `=next.entropy:.3f` nats.
The rank of ` the` is `=next.rank(" the")`. `?next.top_prob > 0.1%` and `?next.top_prob > 100%`

```lmreport
analysis: compare_tokens
id: agree
prompt: The keys to the cabinet
tokens: [" is", " the"]
```

`=agree.winner` leads from layer `=agree.leads_from`; at layer 1 ` is` has rank `=agree.rank(" is", layer=1):,`
and probability `=agree.prob(" is", layer=-1):.2e`. `?agree.rank(" is") >= 1`
"""

@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_models):
    root = tmp_path_factory.mktemp("refs")
    write_lesson(root / "lessons", "01-a.md", LESSON)
    summary = build(build_options(root, tiny_models["gpt2"]))
    return root, summary


def _data(root: Path, n: int, analysis: str) -> dict:
    return json.loads((root / "site" / "data" / f"01-a-{n}-{analysis}.json").read_text())


def _shown(page: str) -> list[str]:
    return [unescape(x) for x in re.findall(r'class="lmreport-value"[^>]*>([^<]*)<', page)]


def test_values_on_the_page_are_the_numbers_of_the_figures(built):
    root, summary = built
    topk, agree = _data(root, 1, "topk")["data"], _data(root, 2, "compare_tokens")["data"]
    assert _data(root, 1, "topk")["id"] == "next"
    top = topk["predictions"][0]
    the = [p for p in topk["predictions"] if p["token"] == " the"]
    is_ = agree["candidates"][0]
    page = (root / "site" / "01-a.html").read_text()
    expected = [top["token"].replace(" ", "␣"), f"{top['prob']:.1%}", f"{topk['entropy']:.3f}"]
    assert _shown(page)[:3] == expected
    assert len(_shown(page)) == 8 and _shown(page)[3] == str(the[0]["rank"])
    winner = agree["candidates"][agree["winner"]]["text"]
    assert _shown(page)[4:] == [winner.replace(" ", "␣"), str(agree["leads_from_layer"]), f"{is_['ranks'][1]:,}",
                                f"{is_['probs'][-1]:.2e}"]
    assert summary.references == 11


def test_claims_are_checked_and_a_false_one_is_marked_and_warned(built, tiny_models):
    root, summary = built
    page = (root / "site" / "01-a.html").read_text()
    assert page.count('class="lmreport-claim"') == 2  # top_prob > 0.1% (above 1/vocab) and rank >= 1 hold
    assert page.count("lmreport-claim-failed") == 1 and "✗ not true for this model: next.top_prob = " in page
    assert summary.claims_failed == 1
    assert [w.split("01-a.md:")[1] for w in summary.warnings] == [
        f"11: claim `?next.top_prob > 100%` does not hold: next.top_prob = "
        f"{_data(root, 1, 'topk')['data']['predictions'][0]['prob']:.4g} > 1"]
    with pytest.raises(BuildFailed, match=r"01-a.md:11: claim `\?next.top_prob > 100%` does not hold"):
        build(build_options(root, tiny_models["gpt2"], strict=True))


@pytest.mark.parametrize("prose, message", [
    ("`=nope.top`", "no block with id 'nope' in this lesson (ids: next)"),
    ("`=next.nothing`", "topk has no value 'nothing' (valid: d_ff, d_head, d_model, entropy, heads, kv_heads, "
                        "layers, logit, mass, n_tokens, prob, rank, temperature, token, top, top_prob, vocab)"),
    ("`=next.prob(3)`", "prob: 'token' must be a string in double quotes, got 3"),
    ("`=next.prob()`", "next.prob takes (token)"),
    ('`?next.top == "\\ud800"`', "the string contains the control character U+D800"),
    ("`=next.layers:c`", "'c' is not a format"),
    ("`?next.top_prob < 1 :note`", "a claim takes no format"),
    ("`=next.top_prob:`", "':' needs a format after it"),
    ("`?next.vocab != next.top`", "compares text with a number"),
    ('`?next.top < " z"`', "text can only be compared with == or !=, not <"),
    ("`=next.top:.2f`", "a format applies to numbers; this value is text"),
    ("`=next.vocab:.5`", "format '.5' does not fit the value"),
    ("![alt `=next.top`](img/p.png)", "a number or claim in an image's alt text is not read"),
])
def test_bad_references_fail_before_any_model_work(tmp_path, tiny_models, forget_models, prose, message):
    from lmreport import models

    text = "# A\n\n```lmreport\nanalysis: topk\nid: next\nprompt: hi\n```\n\nSee " + prose + ".\n"
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert [(x.line, message in x.message) for x in e.value.errors] == [(9, True)], e.value.errors
    assert models._LOADED == {}


def test_a_value_this_model_does_not_give_is_na_with_a_warning_at_its_line(tmp_path, tiny_models):
    """A token outside the k shown, a layer the model does not have: the model differs from the one the prose
    was written for, so the course still builds (n/a and a warning), and --strict makes it an error."""
    text = ("```lmreport\nanalysis: topk\nid: next\nprompt: hi\nk: 1\n```\n\n`=next.prob(\" zzzz\")`\n\n"
            "```lmreport\nanalysis: attention\nid: a\nprompt: hi\n```\n\n`=a.sink(9)` `?a.sink(9) > 0.5`\n")
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    summary = build(build_options(tmp_path, tiny_models["gpt2"]))
    assert [w.split("01-a.md:")[1] for w in summary.warnings] == [
        "8: `=next.prob(\" zzzz\")` is n/a for this model: ' zzzz' is not among the 1 tokens shown (raise k)",
        "16: `=a.sink(9)` is n/a for this model: layer 9 is out of range: blocks count 1 to 3 (or -1 for the last; "
        "layer 0 is the embeddings, which no block is)",
        "16: `?a.sink(9) > 0.5` is n/a for this model: layer 9 is out of range: blocks count 1 to 3 (or -1 for the "
        "last; layer 0 is the embeddings, which no block is)"]
    assert (tmp_path / "site" / "01-a.html").read_text().count(">n/a</span>") == 3
    with pytest.raises(BuildFailed, match=r"01-a.md:8: `=next.prob\(\" zzzz\"\)` is n/a for this model"):
        build(build_options(tmp_path, tiny_models["gpt2"], strict=True))


def test_duplicate_ids_and_bad_ids(tmp_path, tiny_models):
    block = "```lmreport\nanalysis: topk\nid: {}\nprompt: hi\n```\n\n"
    write_lesson(tmp_path / "lessons", "01-a.md", block.format("a") + block.format("a") + block.format("1x"))
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert [(x.line, x.message) for x in e.value.errors] == [
        (9, "id 'a' is also the id of figure 1"),
        (15, "topk: option 'id' must be a name of letters, digits and '_' (not starting with a digit), got '1x'")]


def test_next_token_blocks_on_an_encoder_are_skipped_with_a_note(tmp_path, tiny_models):
    text = ("# A\n\n```lmreport\nanalysis: attention\nprompt: The capital\n```\n\n```lmreport\nanalysis: topk\n"
            "id: next\nprompt: The capital\n```\n\nTop: `=next.top`. `?next.top == \" x\"`\n")
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    summary = build(build_options(tmp_path, tiny_models["bert"]))
    assert summary.skipped == 1
    skipped = ("topk does not apply to bert: topk needs a model that predicts the next token; bert is an encoder "
               "(BertModel)")
    # the block's warning at its line, then one at each reference to it (n/a on this model)
    assert [w.split("01-a.md:")[1] for w in summary.warnings] == [
        f"8: {skipped}; the block is not drawn",
        f"14: `=next.top` is n/a for this model: block 'next' was skipped: {skipped}",
        f"14: `?next.top == \" x\"` is n/a for this model: block 'next' was skipped: {skipped}"]
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert page.count('class="lmreport-figure') == 2 and "Not drawn: topk does not apply to bert" in page
    assert page.count(">n/a</span>") == 2 and "lmreport-claim-failed" not in page
    assert "skipped" in _data(tmp_path, 2, "topk")["data"]
    with pytest.raises(BuildFailed, match="01-a.md:8: topk does not apply to bert"):
        build(build_options(tmp_path, tiny_models["bert"], strict=True))


def test_every_figure_names_its_model(built):
    root, _ = built
    page = (root / "site" / "01-a.html").read_text()
    revision = _data(root, 1, "topk")["model"]["revision"]
    assert page.count(f'<span class="figure-model">Model: gpt2 <span class="figure-revision" title="dir {revision}">'
                      f"{revision[:12]}</span></span>") == 2


def test_text_values_escape_control_characters_and_failed_claims_show_exact_numbers():
    from lmreport.glue.evaluate import format_value, resolve
    from lmreport.glue.types import Block

    assert format_value("a\x12b\nc\u202e", "") == "a\\x12b\nc\\u202e"
    blocks = {"c": Block("topk", topk_values.VALUES, 1, data={"predictions": [{"token": " x", "prob": 0.0050124,
                                                                         "rank": 1}]})}
    resolved = resolve(parse(Path("a.md"), 1, "?c.top_prob == 0.005012"), blocks)
    assert resolved.holds is False and resolved.detail == "c.top_prob = 0.0050124 == 0.005012"


def test_thousands_of_references_are_placed_in_linear_time():
    import time

    from lmreport.glue.types import Resolved
    from lmreport.site.fragments import place_references
    from lmreport.source.lessons import Lesson
    from lmreport.source.markdown import reference_marker

    n = 30_000
    reference = parse(Path("a.md"), 1, "=c.vocab")
    html = "<p>" + " ".join(reference_marker("n", i) for i in range(n)) + "</p>"
    lesson = Lesson(Path("a.md"), "a", "A", 1, None, "", [], [])
    started = time.perf_counter()
    out = place_references(html, lesson, [Resolved(reference, text=str(i), value=i) for i in range(n)], "n")
    assert time.perf_counter() - started < 3
    assert out.count('class="lmreport-value"') == n and ">29999</span>" in out and "lmreportref" not in out


def test_references_are_read_after_a_cached_result_is_recomputed(tmp_path, tiny_models):
    """A sealed cache entry that cannot be drawn is recomputed while drawing; prose cites the recomputed
    numbers, never the bad entry's."""
    import hashlib

    text = "```lmreport\nanalysis: topk\nid: next\nprompt: The capital of\n```\n\nTop: `=next.top_prob:.6f`.\n"
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    (entry,) = [p for p in (tmp_path / "cache").rglob("*.json") if "figures" not in p.parts]
    payload = {k: v for k, v in json.loads(entry.read_text()).items() if k != "sha256"}
    payload["result"]["data"]["predictions"][0]["prob"] = 0.99
    payload["result"]["data"]["position"] = "bad"
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    entry.write_text(json.dumps({**payload, "sha256": hashlib.sha256(canonical.encode()).hexdigest()}))
    shutil.rmtree(tmp_path / "cache" / "figures")
    assert build(build_options(tmp_path, tiny_models["gpt2"])).computed == 1
    prob = json.loads((tmp_path / "site" / "data" / "01-a-1-topk.json").read_text())["data"]["predictions"][0]["prob"]
    assert _shown((tmp_path / "site" / "01-a.html").read_text()) == [f"{prob:.6f}"] and prob != 0.99


def test_sizes_of_the_model_are_known_where_a_block_is_skipped(tmp_path, tiny_models):
    text = "```lmreport\nanalysis: topk\nid: next\nprompt: hi\n```\n\n`=next.layers` layers, top `=next.top`.\n"
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    build(build_options(tmp_path, tiny_models["bert"]))
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert _shown(page) == ["2"] and page.count(">n/a</span>") == 1


def test_the_readme_lists_every_value_of_every_analysis():
    """The README's table of values is the authors' reference: each analysis's values appear in its row."""
    from lmreport import analyses
    from lmreport.glue.sizes import MODEL

    readme = (REPO / "README.md").read_text()
    rows = {line.split("|")[1].strip().strip("`"): line for line in readme.splitlines()
            if line.startswith("| `") and "(" in line}
    missing = {}
    for name, analysis in analyses.REGISTRY.items():
        own = sorted(set(analysis.values) - set(MODEL))
        row = rows.get(name, "")
        lost = [v for v in own if f"`{v}`" not in row and f"`{v}(" not in row]
        if lost:
            missing[name] = lost
    assert missing == {}


GENERATED = 'one <b>\n<script>alert("x")</script>\n\n  four'


def test_generated_text_keeps_its_line_breaks_escaped_inline_and_as_a_paragraph(tmp_path, tiny_models, monkeypatch,
                                                                               caplog):
    """Model output cited in prose: every line break kept (HTML folds them unless told not to), every character
    escaped; the --lint-claims line shows the text and a claim that holds for it."""
    import logging

    from lmreport import analyses

    def text(data: dict) -> str:
        return GENERATED

    monkeypatch.setitem(analyses.get("generate").values, "text", text)
    lesson = ("```lmreport\nanalysis: generate\nid: g\nprompt: The capital\nnew_tokens: 2\n```\n\n"
              "It writes \"`=g.text`\" here.\n\n`=g.text`\n")
    write_lesson(tmp_path / "lessons", "01-a.md", lesson)
    with caplog.at_level(logging.WARNING, logger="lmreport"):
        build(build_options(tmp_path, tiny_models["gpt2"], lint_claims=True))
    page = (tmp_path / "site" / "01-a.html").read_text()
    spans = re.findall(r'<span class="lmreport-value" style="white-space: pre-wrap" title="[^"]*">([^<]*)</span>', page)
    assert [unescape(span) for span in spans] == [GENERATED] * 2 and "\n\n  four" in spans[0]
    assert '<script>alert("x")' not in page and "&lt;script&gt;" in page and "one <b>" not in page
    assert re.search(r'<p><span class="lmreport-value" style="white-space: pre-wrap"[^>]*>[^<]*</span></p>', page)
    (warning,) = [r.getMessage() for r in caplog.records if "`=g.text`" in r.getMessage()][:1]
    assert f"({GENERATED.replace(chr(10), chr(92) + 'n')} here)" in warning  # one line: its breaks as \\n
    suggested = re.search(r"check it with e.g. `(.*)`$", warning, re.S).group(1)
    assert parse(Path("a.md"), 1, suggested).right == GENERATED
