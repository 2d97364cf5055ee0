"""Prompt ablation checked against one unbatched forward pass per variant (padding must change nothing) and a
KL divergence written out here."""

from __future__ import annotations

import pytest
import torch

from lmreport import analyses
from lmreport.analyses.ablation import values as ablation_values
from lmreport.errors import AnalysisError

PROMPT = "The keys to the cabinet are on the"


def run(loaded, **options):
    spec = analyses.get("ablation")
    parsed = spec.parse_options({"prompt": PROMPT, "tokens": [" the", " is"], **options})
    return spec.compute(loaded.forward(parsed["prompt"]), parsed, loaded)


def alone(loaded, ids):
    """Next-token log-probabilities of one sequence, by itself (no batch, no padding)."""
    with torch.no_grad():
        return torch.log_softmax(loaded.model(torch.tensor([ids])).logits[0, -1].double(), -1)


@pytest.mark.parametrize("name", ["gpt2", "llama"])
def test_batched_variants_equal_separate_passes(name, request):
    loaded = request.getfixturevalue(name)
    data = run(loaded, rule="drop_word")
    words = PROMPT.split(" ")
    expected_texts = [PROMPT] + [" ".join(words[:i] + words[i + 1:]) if i else " " + " ".join(words[1:])
                                 for i in range(len(words))]
    assert [r["text"] for r in data["rows"]] == expected_texts
    base = alone(loaded, loaded.encode(PROMPT))
    the_id, is_id = (loaded.single_token(t) for t in (" the", " is"))
    for row in data["rows"]:
        lp = alone(loaded, loaded.encode(row["text"]))
        assert row["targets"][0]["prob"] == pytest.approx(float(lp[the_id].exp()), rel=1e-4, abs=1e-7)
        assert row["targets"][1]["prob"] == pytest.approx(float(lp[is_id].exp()), rel=1e-4, abs=1e-7)
        assert row["targets"][0]["rank"] == int((lp > lp[the_id]).sum()) + 1
        kl = float(sum(base.exp()[i] * (base[i] - lp[i]) for i in range(len(base))))
        assert row["kl"] == pytest.approx(max(kl, 0.0), abs=1e-5)
        assert row["top"][0]["token"] == loaded.token_texts([int(lp.argmax())])[0]
    kls = [data["rows"][i]["kl"] for i in data["order"][1:]]
    assert data["order"][0] == 0 and kls == sorted(kls, reverse=True)

    by_kl = sorted(data["rows"][1:], key=lambda r: r["kl"])
    assert ablation_values.ablation_most(data) == by_kl[-1]["text"]
    assert ablation_values.ablation_least(data) == by_kl[0]["text"]
    for i, row in enumerate(data["rows"]):
        lp = alone(loaded, loaded.encode(row["text"]))
        assert ablation_values.ablation_top(data, i) == loaded.token_texts([int(lp.argmax())])[0]
        assert ablation_values.ablation_rank(data, " the", i) == int((lp > lp[the_id]).sum()) + 1


def test_drop_token_replace_and_given_variants(gpt2):
    ids = gpt2.encode(PROMPT)
    data = run(gpt2, rule="drop_token")
    assert [r["n_tokens"] for r in data["rows"][1:]] == [len(ids) - 1] * len(ids)
    last = data["rows"][-1]
    assert last["targets"][0]["prob"] == pytest.approx(float(alone(gpt2, ids[:-1])[gpt2.single_token(" the")].exp()),
                                                       rel=1e-4, abs=1e-7)
    data = run(gpt2, rule="replace", word="keys", **{"with": ["key", "cat"]})
    assert [r["text"] for r in data["rows"][1:]] == [PROMPT.replace("keys", "key"), PROMPT.replace("keys", "cat")]
    assert data["rows"][1]["change"] == [PROMPT.index("keys"), PROMPT.index("keys") + 4, "key"]
    data = run(gpt2, rule="variants", variants=["The key is on the", "Keys"])
    assert [r["text"] for r in data["rows"]] == [PROMPT, "The key is on the", "Keys"]
    with pytest.raises(AnalysisError, match="'dog' is not in the prompt"):
        run(gpt2, rule="replace", word="dog", **{"with": ["cat"]})
    with pytest.raises(AnalysisError, match="rule 'variants' needs a list"):
        run(gpt2, rule="variants")


@pytest.mark.parametrize("fast", [True, False])
def test_a_dropped_token_marks_the_characters_it_stood_for(gpt2, monkeypatch, fast):
    """A character split over two tokens (é is two bytes) is marked whole when either is dropped, and the text is
    what the kept tokens spell; the spans come from the tokenizer's offsets, or by decoding prefixes."""
    prompt = "The café is open"
    if not fast:
        monkeypatch.setattr(type(gpt2.tokenizer), "is_fast", property(lambda self: False))
    data = run(gpt2, prompt=prompt, rule="drop_token")
    ids = gpt2.encode(prompt)
    pieces = gpt2.token_texts(ids)
    assert "\\xc3" in pieces  # the tokenizer does split é
    for i, row in enumerate(data["rows"][1:]):
        start, end, new = row["change"]
        kept = ids[:i] + ids[i + 1:]
        assert row["text"] == gpt2.tokenizer.decode(kept) and new == ""
        expected = "é" if pieces[i].startswith("\\x") else pieces[i]
        assert prompt[start:end] == expected, (i, pieces[i])
    analyses.get("ablation").check({**data, "model_shape": gpt2.shape()})


def test_ablation_page_marks_changes_and_escapes(tmp_path, tiny_models):
    from lmreport.build import BuildOptions, build
    from tests.conftest import write_lesson

    write_lesson(tmp_path / "lessons", "01-a.md", "# A\n\n```lmreport\nanalysis: ablation\nid: abl\n"
                 "prompt: \"The <b>key</b> is on the\"\ntokens: [\" the\"]\n```\n\nMost: `=abl.most`.\n")
    build(BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site", model=str(tiny_models["gpt2"]),
                       cache_dir=tmp_path / "cache", progress=False))
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert "<b>" not in page and '<del title="removed">' in page and "KL from base" in page


def test_prefix_and_shuffle_rules(llama):
    data = run(llama, rule="prefix", **{"with": ["Note: ", "In French, "]})
    assert [r["text"] for r in data["rows"][1:]] == ["Note: " + PROMPT, "In French, " + PROMPT]
    assert data["rows"][1]["change"] == [0, 0, "Note: "]
    the_id = llama.single_token(" the")
    for row in data["rows"]:
        lp = alone(llama, llama.encode(row["text"]))
        assert row["targets"][0]["prob"] == pytest.approx(float(lp[the_id].exp()), rel=1e-4, abs=1e-7)
    shuffled = run(llama, rule="shuffle", count=4, seed=7)
    texts = [r["text"] for r in shuffled["rows"][1:]]
    assert len(texts) == len(set(texts)) == 4 and PROMPT not in texts
    assert all(sorted(t.split()) == sorted(PROMPT.split()) for t in texts)  # the same words, other orders
    assert texts == [r["text"] for r in run(llama, rule="shuffle", count=4, seed=7)["rows"][1:]]  # seeded
    assert texts != [r["text"] for r in run(llama, rule="shuffle", count=4, seed=8)["rows"][1:]]
    with pytest.raises(AnalysisError, match="rule 'prefix' needs 'with'"):
        run(llama, rule="prefix")
    spec = analyses.get("ablation")
    with pytest.raises(AnalysisError, match="nothing to shuffle"):
        parsed = spec.parse_options({"prompt": "the the", "tokens": [" the"], "rule": "shuffle"})
        spec.compute(llama.forward("the the"), parsed, llama)


def test_the_table_shows_each_variants_number_as_prose_cites_it(gpt2):
    import re

    from lmreport.result import Result

    data = run(gpt2, rule="drop_word")
    html = analyses.render(Result("ablation", {"prompt": PROMPT}, {"name": "m"}, data), "fig-1").html
    rows = re.findall(r'<td class="ablation-number">(\d+)</td><th scope="row" class="ablation-variant">', html)
    assert [int(n) for n in rows] == data["order"]  # each row numbered as top(n), prob(token, n) read it
    assert 'title="the variant\'s number, as prose cites it' in html
