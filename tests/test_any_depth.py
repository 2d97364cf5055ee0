"""The course in lessons/ builds on a model of any depth: on random GPT-2s of 1 and 2 blocks and a random Llama of
6 blocks with 2 heads (all with SmolLM2's tokenizer), each block whose options name a layer, head or position the
model lacks is marked "Not drawn" with the reason, and nothing else stops the build."""

from __future__ import annotations

import re

import pytest

from lmreport.build import build
from lmreport.source.lessons import scan_lessons
from tests.conftest import REPO, opts

MODELS = {"gpt2-1": ("gpt2", 1, 4), "gpt2-2": ("gpt2", 2, 4), "llama-6x2": ("llama", 6, 2)}


def _save(folder, kind, layers, heads, tokenizer):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    if kind == "gpt2":
        model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_positions=512, n_embd=32, n_layer=layers,
                                           n_head=heads))
    else:
        model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                             num_hidden_layers=layers, num_attention_heads=heads,
                                             num_key_value_heads=1, max_position_embeddings=512,
                                             tie_word_embeddings=True))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _expected_not_drawn(layers: int, heads: int, tokenizer) -> set[tuple[str, int]]:
    """(lesson, block number) of each block that names what the model lacks, worked out here from the lessons'
    own options: blocks count 1..layers (or -layers..-1), heads 0..heads-1 (or negative), positions inside the
    prompt."""
    lessons = scan_lessons(REPO / "lessons").lessons
    expected = set()
    for lesson in lessons:
        for number, d in enumerate(lesson.directives, 1):
            p = d.params
            if "model" in p:
                continue  # a block on its own model (MiniLM) runs there whatever the course's model
            named_layers = [p["layer"]] if "layer" in p else []
            named_layers += list(p.get("layers", []))
            bad = any(not (1 <= v <= layers or -layers <= v <= -1) for v in named_layers)
            bad |= "head" in p and p["head"] is not None and not -heads <= p["head"] < heads
            if "position" in p:
                n = min(len(tokenizer(q)["input_ids"]) for q in p.get("prompts", [p.get("prompt")]))
                bad |= not -n <= p["position"] < n
            if bad:
                expected.add((lesson.slug, number))
    return expected


@pytest.mark.embedded
@pytest.mark.parametrize("name", MODELS)
def test_the_course_builds_on_a_model_of_any_depth_marking_what_it_cannot_draw(tmp_path, smollm2, name):
    kind, layers, heads = MODELS[name]
    folder = _save(tmp_path / name, kind, layers, heads, smollm2.tokenizer)
    summary = build(opts(tmp_path, model=str(folder), lessons_dir=REPO / "lessons"))
    expected = _expected_not_drawn(layers, heads, smollm2.tokenizer)
    assert expected, "the course names no layer or head this model lacks: the test would show nothing"
    site = tmp_path / "site"
    marked = set()
    for page in site.glob("*.html"):
        figures = re.split(r'<figure class="lmreport-figure', page.read_text())[1:]
        for number, figure in enumerate(figures, 1):
            if "Not drawn:" in figure and "the block asks for" in figure:
                marked.add((page.stem, number))
    assert marked == expected
    assert summary.skipped >= len(expected)
    not_drawn = [w for w in summary.warnings if "the block is not drawn" in w and "the block asks for" in w]
    assert len(not_drawn) == len(expected)
