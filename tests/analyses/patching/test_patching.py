"""Activation patching, checked against forward passes written here with plain torch hooks on the modules read by
their own names: every cell of the batched grid is the corrupted run with that one clean activation put back."""

from __future__ import annotations

import pytest
import torch

from lmreport import analyses
from lmreport.analyses.patching import compute, runs

PROMPT = "The keys to the cabinet"
CORRUPTED = "The keys to the table"  # as many tokens: ' ca' 'bi' 'net' and ' t' 'ab' 'le'
LAYERS = {"gpt2": lambda m: m.transformer.h, "llama": lambda m: m.model.layers}
EMBED = {"gpt2": lambda m: m.transformer.wte, "llama": lambda m: m.model.embed_tokens}
ATTN_OUT = {"gpt2": lambda layer: layer.attn.c_proj, "llama": lambda layer: layer.self_attn.o_proj}
MLP_OUT = {"gpt2": lambda layer: layer.mlp.c_proj, "llama": lambda layer: layer.mlp.down_proj}


def run(loaded, **options):
    spec = analyses.get("patching")
    parsed = spec.parse_options({"prompt": PROMPT, "replace": ["cabinet", "table"], **options})
    return spec.run(loaded.forward(PROMPT, spec.needs), parsed, loaded)


def module_of(kind, model, site, row):
    """The module a row of a site reads, by its name in the model (row 0 of the residual: the embeddings)."""
    if site == "residual":
        return EMBED[kind](model) if row == 0 else LAYERS[kind](model)[row - 1]
    layer = LAYERS[kind](model)[row - 1]
    return MLP_OUT[kind](layer) if site == "mlp" else ATTN_OUT[kind](layer)


def explicit_metric(loaded, module, reads_input, index, data, n_heads=None):
    """The metric of the corrupted prompt with the clean run's values at one position (or, reading the module's
    input, of one head at every position) put back, by two hooked forward passes."""
    model, tokenizer = loaded.model, loaded.tokenizer
    clean = tokenizer(PROMPT, return_tensors="pt").input_ids
    corrupted = tokenizer(CORRUPTED, return_tensors="pt").input_ids
    saved = {}

    def part(x):
        if not reads_input:  # OPT flattens batch and positions before its MLP
            return (index,) if x.dim() == 2 else (slice(None), index)
        d_head = x.shape[-1] // n_heads
        return (Ellipsis, slice(index * d_head, (index + 1) * d_head))

    def put_back(x):
        x = x.clone()
        x[part(x)] = saved["clean"][part(x)]
        return x

    if reads_input:
        record = module.register_forward_pre_hook(lambda m, args: saved.__setitem__("clean", args[0].clone()))
    else:
        record = module.register_forward_hook(lambda m, args, out: saved.__setitem__("clean", out.clone()))
    with torch.no_grad():
        model(clean)
    record.remove()
    if reads_input:
        restore = module.register_forward_pre_hook(lambda m, args: (put_back(args[0]),))
    else:
        restore = module.register_forward_hook(lambda m, args, out: put_back(out))
    with torch.no_grad():
        logits = model(corrupted).logits[0, -1].double()
    restore.remove()
    return float(logits[data["answer"]["id"]] - logits[data["wrong"]["id"]])


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_every_cell_of_the_residual_grid_is_one_hooked_forward_pass(kind, request):
    """The batched grid (one pass per layer, the prompt widened to the batch at the restored module) against one
    plain hooked pass per cell."""
    loaded = request.getfixturevalue(kind)
    data = run(loaded)
    assert data["tokens"] == loaded.token_texts(loaded.encode(PROMPT))
    assert data["corrupted"] == CORRUPTED and data["changed"] == [5, 6, 7]
    assert data["layers"] == list(range(0, loaded.n_layers + 1)) and len(data["patched"][0]) == 8
    for row, values in enumerate(data["patched"]):
        for position, value in enumerate(values):
            expected = explicit_metric(loaded, module_of(kind, loaded.model, "residual", row), False, position, data)
            assert value == pytest.approx(expected, abs=1e-5), (row, position)
    gap = data["clean_metric"] - data["corrupted_metric"]
    assert data["recovery"][2][6] == pytest.approx((data["patched"][2][6] - data["corrupted_metric"]) / gap)


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
@pytest.mark.parametrize("site", ["attn", "mlp", "heads"])
def test_a_cell_of_each_site_is_one_hooked_forward_pass(kind, site, request):
    loaded = request.getfixturevalue(kind)
    data = run(loaded, site=site)
    n_heads = loaded.shape()["heads"]
    assert data["layers"] == list(range(1, loaded.n_layers + 1))
    assert data["columns"] == ("head" if site == "heads" else "position")
    assert len(data["patched"][0]) == (n_heads if site == "heads" else 8)
    row, index = 1, (n_heads - 1 if site == "heads" else 6)
    module = module_of(kind, loaded.model, site, data["layers"][row])
    expected = explicit_metric(loaded, module, site == "heads", index, data, n_heads)
    assert data["patched"][row][index] == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_restoring_every_position_gives_back_the_clean_run_and_restoring_none_the_corrupted(kind, request):
    loaded = request.getfixturevalue(kind)
    data = run(loaded)
    site = runs.site_of(loaded, "residual")
    clean, corrupted = loaded.encode(PROMPT), loaded.encode(CORRUPTED)
    values, _ = runs.recorded_run(loaded, clean, site)
    answer, wrong = data["answer"]["id"], data["wrong"]["id"]
    for row, held in enumerate(values):
        masks = torch.zeros(2, *held.shape, dtype=torch.bool)
        masks[0] = True  # item 0 restores every position, item 1 none
        metric = compute.metric_values(runs.patched_logits(loaded, corrupted, site, row, held, masks), "logit_diff",
                                       answer, wrong)
        assert metric.tolist() == pytest.approx([data["clean_metric"], data["corrupted_metric"]], abs=1e-5), row
    # One position at a time: the last block's output reaches the last logits at the last position only, and the
    # positions before the first changed token hold the same numbers in both runs.
    assert data["recovery"][-1][-1] == pytest.approx(1, abs=1e-5)
    assert data["recovery"][-1][:-1] == pytest.approx([0] * 7, abs=1e-5)
    assert all(row[:5] == [0.0] * 5 for row in data["recovery"])


@pytest.mark.parametrize("site", runs.SITES)
def test_widening_the_batch_at_the_restored_module_equals_repeating_the_prompt(llama, site):
    spec = runs.site_of(llama, site)
    clean, corrupted = llama.encode(PROMPT), llama.encode(CORRUPTED)
    values, _ = runs.recorded_run(llama, clean, spec)
    n_heads = llama.shape()["heads"]
    for row, held in enumerate(values):
        items = list(range(n_heads if spec.reads_input else len(clean)))
        masks = compute.masks_for(spec, len(clean), held.shape[-1], n_heads, items)
        shared = runs.patched_logits(llama, corrupted, spec, row, held, masks, shared=True)
        repeated = runs.patched_logits(llama, corrupted, spec, row, held, masks, shared=False)
        one = runs.patched_logits(llama, corrupted, spec, row, held, masks[-1:], shared=False)
        assert torch.allclose(shared, repeated, atol=1e-5) and torch.allclose(shared[-1:], one, atol=1e-5)


def test_a_model_that_cannot_widen_the_batch_repeats_the_prompt(tmp_path, monkeypatch):
    """OPT adds its flattened MLP output to an input that is not: widening the batch there fails, and the row is
    run again with the prompt repeated, to the numbers of one hooked pass per cell."""
    import transformers

    from lmreport import models
    from tests.conftest import _tokenizer

    tok = _tokenizer(tmp_path)
    torch.manual_seed(0)
    config = transformers.OPTConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                    ffn_dim=64, word_embed_proj_dim=32, max_position_embeddings=64)
    transformers.OPTForCausalLM(config).save_pretrained(tmp_path)
    loaded = models.load(models.resolve(str(tmp_path)))
    tries = []
    widened = runs.patched_logits

    def spy(*args):
        tries.append(args[-1])  # shared: whether the batch is widened at the module
        return widened(*args)

    monkeypatch.setattr(runs, "patched_logits", spy)
    data = run(loaded, site="mlp")
    assert tries[:3] == [True, False, False]
    layers = loaded.model.model.decoder.layers
    for row, values in enumerate(data["patched"]):
        for position in data["changed"]:
            expected = explicit_metric(loaded, layers[row].fc2, False, position, data)
            assert values[position] == pytest.approx(expected, abs=1e-5)
