"""generate: greedy text equals an argmax loop written here; sampling repeats with its seed."""

import pytest
import torch

from lmreport import analyses
from lmreport.analyses.generate import values as generate_values

PROMPT = "The keys to the"


def compute(loaded, **options):
    analysis = analyses.get("generate")
    parsed = analysis.parse_options({"prompt": PROMPT, **options})
    return analysis.compute(loaded.forward(PROMPT), parsed, loaded)


@pytest.mark.parametrize("kind", ["gpt2", "llama", pytest.param("smollm2", marks=pytest.mark.embedded)])
def test_greedy_is_an_argmax_loop(kind, request):
    loaded = request.getfixturevalue(kind)
    data = compute(loaded, new_tokens=5, k=3)
    ids = loaded.tokenizer(PROMPT, return_tensors="pt")["input_ids"]
    for step in data["steps"]:
        with torch.no_grad():
            probs = torch.softmax(loaded.model(ids).logits[0, -1].double(), -1)
        chosen = int(probs.argmax())
        assert step["id"] == chosen and step["rank"] == 1
        # generate() reuses its key-value cache; a full pass sums in another order: 1e-4 relative
        assert step["prob"] == pytest.approx(float(probs[chosen]), rel=1e-4)
        top = torch.topk(probs, 3)
        assert [a["id"] for a in step["alternatives"]] == top.indices.tolist()
        assert [a["prob"] for a in step["alternatives"]] == pytest.approx(top.values.tolist(), rel=1e-4)
        ids = torch.cat([ids, torch.tensor([[chosen]])], dim=1)
    assert len(data["steps"]) == 5
    assert data["text"] == loaded.tokenizer.decode([s["id"] for s in data["steps"]])


def test_sampling_repeats_with_its_seed_and_shows_the_distribution_it_drew_from(llama):
    first = compute(llama, new_tokens=8, sample=True, seed=3, temperature=0.7)
    again = compute(llama, new_tokens=8, sample=True, seed=3, temperature=0.7)
    other = compute(llama, new_tokens=8, sample=True, seed=4, temperature=0.7)
    assert [s["id"] for s in first["steps"]] == [s["id"] for s in again["steps"]]
    assert [s["id"] for s in first["steps"]] != [s["id"] for s in other["steps"]]
    ids = llama.tokenizer(PROMPT, return_tensors="pt")["input_ids"]
    for step in first["steps"]:
        with torch.no_grad():
            logits = llama.model(ids).logits[0, -1].double()
        probs = torch.softmax(logits, -1)
        drawn_from = torch.softmax(logits / 0.7, -1)
        assert step["rank"] == int((probs > probs[step["id"]]).sum()) + 1
        assert step["prob"] == pytest.approx(float(drawn_from[step["id"]]), rel=1e-4)
        assert step["prob_t1"] == pytest.approx(float(probs[step["id"]]), rel=1e-4)
        assert [a["prob"] for a in step["alternatives"]] == pytest.approx(
            torch.topk(drawn_from, 5).values.tolist(), rel=1e-4)
        ids = torch.cat([ids, torch.tensor([[step["id"]]])], dim=1)
    assert "softmax(logits / 0.7)" in first["distribution"]

    ranks = [s["rank"] for s in first["steps"]]
    assert generate_values.generated_off_top(first) == sum(r > 1 for r in ranks)
    assert generate_values.generated_steps(first) == 8
    assert [generate_values.generated_rank(first, i) for i in range(8)] == ranks
    assert generate_values.generated_prob_t1(first, -1) == first["steps"][-1]["prob_t1"]


def test_attention_covers_prompt_and_generated_text(gpt2):
    data = compute(gpt2, new_tokens=4, attention=True)
    n = len(data["tokens"]) + 4
    attn = torch.tensor(data["attention"]["attention"])
    assert attn.shape == (3, 4, n, n)
    ids = gpt2.tokenizer(PROMPT)["input_ids"] + [s["id"] for s in data["steps"]]
    with torch.no_grad():
        expected = torch.stack([a[0] for a in gpt2.model(torch.tensor([ids]), output_attentions=True).attentions])
    assert torch.allclose(attn, expected, atol=1e-4)
