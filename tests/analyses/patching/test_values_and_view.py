"""What prose cites from a patching result, its table, its figure, the tokens it chooses, its notes and warnings,
and a page built from a lesson that cites it."""

from __future__ import annotations

import pytest

from lmreport import analyses
from lmreport.analyses.patching import values, view
from lmreport.glue.types import NotApplicableHere, ReferenceProblem
from lmreport.result import Result

PROMPT = "The keys to the cabinet"


def run(loaded, **options):
    spec = analyses.get("patching")
    parsed = spec.parse_options({"prompt": PROMPT, "replace": ["cabinet", "table"], **options})
    return spec.run(loaded.forward(PROMPT, spec.needs), parsed, loaded)


def test_values_read_the_grid_as_the_page_numbers_it(llama):
    data = run(llama)
    grid = data["recovery"]
    cells = [(v, row, column) for row, r in enumerate(grid) for column, v in enumerate(r)]
    best = max(cells, key=lambda c: c[0])
    assert values.patching_recovery(data, 0, 5) == grid[0][5]  # row 0: the embeddings
    assert values.patching_recovery(data, -1, -1) == grid[-1][-1]
    assert values.patching_best_layer(data) == best[1] and values.patching_best_position(data) == best[2]
    assert values.patching_best_recovery(data) == best[0]
    assert values.patching_best_token(data) == data["tokens"][best[2]]
    in_row = max(range(8), key=lambda c: grid[2][c])
    assert values.patching_best_position(data, 2) == in_row
    assert values.patching_best_recovery(data, 2) == grid[2][in_row]
    assert values.patching_best_layer(data, 6) == max(range(len(grid)), key=lambda r: grid[r][6])
    at_least = [row for row in range(len(grid)) if grid[row][-1] >= 0.5]
    assert values.patching_first_layer(data, -1) == at_least[0] and values.patching_last_layer(data, -1) == at_least[-1]
    with pytest.raises(NotApplicableHere, match="less than 2 at every layer"):
        values.patching_first_layer(data, 0, share=2.0)
    assert values.patching_answer(data) == data["answer"]["token"] and values.patching_wrong(data) == data["wrong"][
        "token"]
    assert values.patching_corrupted_token(data, 5) == " t" and values.VALUES["token"](data, 5) == " ca"
    assert values.patching_clean_metric(data) == data["clean_metric"]
    with pytest.raises(NotApplicableHere, match="layer 9 is out of range"):
        values.patching_recovery(data, 9, 0)
    with pytest.raises(ReferenceProblem, match=r"patches positions \(site residual\): cite recovery and"):
        values.patching_head_recovery(data, 1, 0)


def test_values_of_the_heads_count_blocks_from_one(llama):
    data = run(llama, site="heads", metric="prob")
    assert values.patching_head_recovery(data, 1, 0) == data["recovery"][0][0]
    assert values.patching_best_head(data, 3) == max(range(6), key=lambda h: data["recovery"][2][h])
    with pytest.raises(NotApplicableHere, match="layer 0 is out of range"):
        values.patching_head_recovery(data, 0, 0)
    with pytest.raises(ReferenceProblem, match=r"patches heads \(site heads\): cite head_recovery and best_head"):
        values.patching_best_position(data)
    with pytest.raises(ReferenceProblem, match="no wrong token"):
        values.patching_wrong(data)
    assert data["quantity"] == f"p('{data['answer']['token']}') at the last position"


def test_default_tokens_and_notes(llama):
    data = run(llama)
    assert data["chosen"] == "answer: the clean run's top token; wrong: the corrupted run's top token"
    corrupted_top = data["wrong"]["token"]
    again = run(llama, answer=corrupted_top)  # the corrupted run's top token is then the answer too
    assert again["chosen"] == "answer: given; wrong: the corrupted run's second token"
    assert again["wrong"]["id"] != again["answer"]["id"]
    assert any("wrong is its second" in note for note in again["notes"])
    prompt = "The keys to the cabinet are on the table"
    twice = analyses.get("patching").parse_options({"prompt": prompt, "replace": ["the", "a"]})
    notes = analyses.get("patching").run(llama.forward(prompt), twice, llama)["notes"]
    assert any("'the' is 2 times in the prompt" in note for note in notes)


def test_a_small_gap_is_warned_of():
    data = {"clean_metric": 0.3, "corrupted_metric": 0.1, "metric": "logit_diff", "quantity": "logit diff"}
    assert view.warnings(data) == ["patching: the corruption moves logit diff by only +0.2 (0.3 clean, 0.1 "
                                   "corrupted): each recovery divides by that small gap"]
    assert view.warnings({**data, "clean_metric": 2.0}) == []
    assert view.warnings({**data, "metric": "prob"}) == []


def test_table_and_figure(gpt2):
    data = run(gpt2)
    rows = view.table(data)
    assert rows[0] == ["site", "layer", "position", "clean_token", "corrupted_token", "metric", "patched_metric",
                       "recovery"]
    assert len(rows) == 1 + 4 * 8
    assert rows[1 + 8 * 2 + 6] == ["residual", 2, 6, "bi", "ab", data["quantity"], data["patched"][2][6],
                                   data["recovery"][2][6]]
    html = analyses.render(Result("patching", {}, {"name": "m"}, data), "fig-1").html
    # the x axis: the clean token, and the corrupted one where they differ
    assert view.column_labels(data) == ["The", "␣key", "s", "␣to", "␣the", "␣ca/␣t", "bi/ab", "net/le"]
    assert "bi/ab" in html and "net/le" in html
    assert "(patched − corrupted) / (clean − corrupted)" in html
    assert "layer (0 = embeddings, n = after block n)" in html
    heads = run(gpt2, site="heads")
    assert view.table(heads)[1][:5] == ["heads", 1, 0, "", ""] and len(view.table(heads)) == 1 + 3 * 4
    html = analyses.render(Result("patching", {}, {"name": "m"}, heads), "fig-1").html
    assert "one head of block n at every position" in html and "layer (block n, counted from 1)" in html
    line, more = analyses.get("patching").guide_for(heads)
    assert "0: none, 1: all" in line and "one head of block n" in more


def test_a_lesson_cites_the_grid(tmp_path, tiny_models):
    from lmreport.build import build
    from tests.conftest import build_options, write_lesson

    write_lesson(tmp_path / "lessons", "01-a.md", "# A\n\n```lmreport\nanalysis: patching\nid: p\n"
                 f"prompt: {PROMPT}\nreplace: [cabinet, table]\n```\n\n"
                 "Restoring the last block's output at the last position gives back all of it "
                 "`?p.recovery(-1, -1) > 0.999`, from `=p.corrupted_metric:.2f` to `=p.clean_metric:.2f`; "
                 "the answer is `=p.answer`, the wrong token `=p.wrong` `?p.best_position(-1) == 7`.\n")
    summary = build(build_options(tmp_path, tiny_models["gpt2"], strict=True))
    assert summary.claims_failed == 0 and summary.references == 6
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert "Activation patching" in page and "bi/ab" in page
    assert (tmp_path / "site" / "data" / "01-a-1-patching.json").is_file()
