"""A model matrix: one build, every lesson on each model, a switcher, comparison pages with the prose's numbers
and claims per model."""

from __future__ import annotations

import html
import json
import re
import shutil

import pytest

from lmreport import models
from lmreport.build import build
from lmreport.cli import main
from lmreport.errors import BuildFailed, LmreportError
from tests.build.conftest import PROMPT, TOPK_LESSON, cells, matrix_lesson
from tests.conftest import opts, write_lesson


def test_matrix_builds_every_model_with_switcher_comparisons_and_claims_per_model(tmp_path, tiny_models, tops):
    gpt2, llama = str(tiny_models["gpt2"]), str(tiny_models["llama"])
    matrix_lesson(tmp_path, tops["gpt2"][0])
    for spec in (gpt2, llama):  # loaded by other tests of this process
        models.unload(models.resolve(spec))
    summary = build(opts(tmp_path, models=(gpt2, llama)))
    site = tmp_path / "site"
    assert summary.models == ["gpt2", "llama"] and summary.model_loads == 2 and summary.comparisons == 1
    assert summary.claims_failed == 0 and summary.others == ["llama: 0 of 1 claims hold, 1 fail"]
    # Each model was freed once its last block was done.
    assert not models.is_loaded(models.resolve(gpt2)) and not models.is_loaded(models.resolve(llama))
    for folder, kind in (("", "gpt2"), ("llama/", "llama")):
        page = (site / f"{folder}01-next.html").read_text()
        token, prob = tops[kind]
        assert f"{prob:.6f}" in page  # the prose's number, from this model
        assert re.search(r'<nav class="model-switch".*?</nav>', page, re.S)
        data = json.loads((site / f"{folder}data/01-next-1-topk.json").read_text())
        assert data["model"]["name"] == kind and data["data"]["predictions"][0]["prob"] == pytest.approx(prob)
    # The switch links the same page on each model, and every link resolves.
    for page in ("01-next.html", "llama/01-next.html", "index.html", "llama/index.html", "compare/index.html",
                 "compare/01-next-1.html"):
        text = (site / page).read_text()
        for target in re.findall(r'(?:href|src)="(?!data:)([^"#]+)', text):
            assert (site / page).parent.joinpath(target).resolve().exists(), (page, target)
    switch = re.search(r'<nav class="model-switch".*?</nav>', (site / "llama/01-next.html").read_text(), re.S)[0]
    assert 'href="../01-next.html"' in switch and 'href="../llama/01-next.html" aria-current="page"' in switch
    # The comparison page draws the block on both models and tabulates the prose's numbers per model.
    compare = (site / "compare/01-next-1.html").read_text()
    assert compare.count('<figure class="lmreport-figure') == 2 and 'id="m1-fig-1"' in compare
    assert cells(compare, "=c.top_prob") == [f"{tops['gpt2'][1]:.6f}", f"{tops['llama'][1]:.6f}"]
    claim = cells((site / "compare/index.html").read_text(), "?c.top ==")
    assert claim[0] == "✓" and claim[1].startswith("✗ not true for this model")
    # Attention views are not compared (BertViz ids are per page); no page for them.
    assert sorted(p.name for p in (site / "compare").iterdir()) == ["01-next-1.html", "index.html"]


def test_strict_judges_the_first_model_only(tmp_path, tiny_models, tops):
    """The prose is written for the first model: a claim that fails on another model is what the comparison
    shows, not an error, even with --strict; on the first model it is."""
    gpt2, llama = str(tiny_models["gpt2"]), str(tiny_models["llama"])
    matrix_lesson(tmp_path, tops["gpt2"][0])
    build(opts(tmp_path, models=(gpt2, llama), strict=True))
    with pytest.raises(BuildFailed, match=r"01-next.md:10: claim `\?c.top == .*` does not hold"):
        build(opts(tmp_path, models=(llama, gpt2), strict=True))


def test_course_config_lists_the_models_relative_to_itself(tmp_path, tiny_models, tops):
    shutil.copytree(tiny_models["llama"], tmp_path / "models" / "tiny-llama")
    matrix_lesson(tmp_path, tops["gpt2"][0])
    (tmp_path / "lessons" / "course.yml").write_text(
        f"title: Two models\nmodels:\n  - {tiny_models['gpt2']}\n"
        "  - model: ../models/tiny-llama\n    label: A tiny Llama\n    folder: llama-small\n")
    summary = build(opts(tmp_path))
    assert summary.models == ["gpt2", "A tiny Llama"]
    page = (tmp_path / "site" / "llama-small" / "01-next.html").read_text()
    assert f"{tops['llama'][1]:.6f}" in page and ">A tiny Llama</a>" in page
    # --model replaces the course's list.
    summary = build(opts(tmp_path, model=str(tiny_models["gpt2"])))
    assert summary.models == ["gpt2"] and not (tmp_path / "site" / "llama-small").exists()
    assert "model-switch" not in (tmp_path / "site" / "01-next.html").read_text()


def test_a_model_listed_twice_is_an_error(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    with pytest.raises(LmreportError, match="the model matrix lists gpt2 twice"):
        build(opts(tmp_path, models=(str(tiny_models["gpt2"]), str(tiny_models["gpt2"]) + "/")))


def test_block_with_its_own_model_is_computed_once_and_not_compared(tmp_path, tiny_models):
    gpt2, llama = str(tiny_models["gpt2"]), str(tiny_models["llama"])
    write_lesson(tmp_path / "lessons", "01-a.md", f"""# a

```lmreport
analysis: topk
prompt: "{PROMPT}"
model: {gpt2}
```
""")
    summary = build(opts(tmp_path, models=(llama, gpt2)))
    assert summary.computed == 1 and summary.analyses == 2 and summary.comparisons == 0
    assert not (tmp_path / "site" / "compare" / "01-a-1.html").exists()


def test_cli_model_given_twice_is_a_matrix(tmp_path, tiny_models, tops, capsys):
    matrix_lesson(tmp_path, tops["gpt2"][0])
    code = main(["build", str(tmp_path / "lessons"), "-o", str(tmp_path / "site"), "--cache-dir",
                 str(tmp_path / "cache"), "--model", str(tiny_models["gpt2"]), "--model", str(tiny_models["llama"])])
    assert code == 0
    out = capsys.readouterr().out
    assert "for 2 models (gpt2, llama) with 1 comparison pages" in out and "llama: 0 of 1 claims hold, 1 fail" in out
    assert (tmp_path / "site" / "llama" / "01-next.html").is_file()


def test_one_claim_count_everywhere_and_other_models_say_whom_the_prose_was_written_for(tmp_path, tiny_models,
                                                                                       tops, capsys):
    """Holds / fails / n/a are counted once and shown the same in the terminal, on the comparison index and at
    the top of every page of a model the prose was not written for; there, a number no claim checks is marked."""
    gpt2, bert = str(tiny_models["gpt2"]), str(tiny_models["bert"])
    write_lesson(tmp_path / "lessons", "01-next.md", TOPK_LESSON + f"""
The top token is `=c.top` at `=c.top_prob:.6f`. `?c.top == {json.dumps(tops["gpt2"][0])}`

Its entropy is `=c.entropy:.3f` nats.

```lmreport
analysis: hidden_states
id: h
prompt: "{PROMPT}"
```

At block 3 the first token is `=h.first_ratio(3):.2f` times as long as the others `?h.first_ratio(3) > 0`.
""")
    assert main(["build", str(tmp_path / "lessons"), "-o", str(tmp_path / "site"), "--cache-dir",
                 str(tmp_path / "cache"), "--model", gpt2, "--model", bert]) == 0
    out = capsys.readouterr()
    site = tmp_path / "site"
    # BERT predicts no next token (topk is skipped: its claim is n/a) and has 2 blocks (block 3 is n/a)
    expected = "bert: 0 of 2 claims hold, 2 n/a"
    assert expected in out.out + out.err
    assert cells((site / "compare/index.html").read_text(), "Claims") == ["2 of 2 claims hold", expected[6:]]
    page = (site / "bert/01-next.html").read_text()
    notice = html.unescape(re.sub(r"<[^>]+>", "", re.search(r'<p class="written-for">(.*?)</p>', page, re.S)[1]))
    assert "written for\ngpt2" in notice and f"On bert: {expected[6:]}" in notice
    assert 'class="written-for"' not in (site / "01-next.html").read_text()
    # the top token's probability and the entropy are read by no claim (the claim reads c.top): marked on bert,
    # not on the model the prose was written for
    assert page.count('<sup class="lmreport-unchecked"') == 2
    assert 'class="lmreport-unchecked"' not in (site / "01-next.html").read_text().split("</header>")[-1]


def test_a_note_under_a_figure_is_a_warning_at_its_block(tmp_path, tiny_models):
    """A candidate without its leading space (when the spaced one is a token too) gets a note on the page, and the
    same note in the terminal at the block's line; --strict makes it an error."""
    gpt2 = str(tiny_models["gpt2"])
    bare = next(t for t in ("the", "a", "is", "e", "t") if len(models.load(models.resolve(gpt2)).tokenizer(
        t, add_special_tokens=False)["input_ids"]) == 1 and len(models.load(models.resolve(gpt2)).tokenizer(
            " " + t, add_special_tokens=False)["input_ids"]) == 1)
    write_lesson(tmp_path / "lessons", "01-r.md", f"""# Ranks

```lmreport
analysis: rank_evolution
prompt: "{PROMPT}"
tokens: ["{bare}"]
```
""")
    summary = build(opts(tmp_path, model=gpt2))
    (warning,) = [w for w in summary.warnings if "has no leading space" in w]
    assert "01-r.md:3:" in warning and f"'{bare}' has no leading space" in warning
    assert "has no leading space" in (tmp_path / "site" / "01-r.html").read_text()
    with pytest.raises(BuildFailed, match="has no leading space"):
        build(opts(tmp_path, model=gpt2, strict=True))


def test_a_typo_in_a_block_is_one_error_not_one_per_reference_to_it(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-t.md", f"""# Typo

```lmreport
analysis: topk
id: cold
prompt: "{PROMPT}"
temprature: 0.5
```

It says `=cold.top` at `=cold.top_prob:.2f` `?cold.top == " the"`.
""")
    with pytest.raises(BuildFailed) as failed:
        build(opts(tmp_path, model=str(tiny_models["gpt2"]), strict=True))
    message = str(failed.value)
    assert "temprature" in message and "did you mean 'temperature'" in message
    assert "no block with id" not in message


def test_lint_claims_lists_the_numbers_no_claim_checks_with_a_claim_that_would(tmp_path, tiny_models, tops, caplog):
    gpt2 = str(tiny_models["gpt2"])
    write_lesson(tmp_path / "lessons", "01-next.md", TOPK_LESSON + f"""
The top token is `=c.top` `?c.top == {json.dumps(tops["gpt2"][0])}`.

Its entropy is `=c.entropy:.3f` nats, and it has rank `=c.rank({json.dumps(tops["gpt2"][0])})`.
""")
    assert main(["build", str(tmp_path / "lessons"), "-o", str(tmp_path / "site"), "--cache-dir",
                 str(tmp_path / "cache"), "--model", gpt2, "--lint-claims"]) == 0
    err = caplog.text
    lines = [line for line in err.splitlines() if "is checked by no claim" in line]
    assert len(lines) == 2 and all("01-next.md:12:" in line for line in lines), err
    data = json.loads((tmp_path / "site" / "data" / "01-next-1-topk.json").read_text())["data"]
    entropy = data["entropy"]
    suggested = re.search(r"`\?c\.entropy > ([\d.e-]+)`", lines[0])
    assert suggested and float(suggested[1]) <= entropy < float(suggested[1]) * 1.2  # true, and close
    assert f"`?c.rank({json.dumps(tops['gpt2'][0])}) == 1`" in lines[1]
    assert "lint-claims: 2 numbers of the prose checked by no claim" in err
