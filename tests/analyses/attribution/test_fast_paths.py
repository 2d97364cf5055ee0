"""The attribution analysis's fast paths give the numbers of the plain ones: occlusion packed into one sequence
(occlusion.py) against Captum's FeatureAblation one variant a row, on every model family packed; integrated
gradients with many points a pass and f(baseline) in the first, against Captum's IntegratedGradients."""

from __future__ import annotations

import pytest
import torch

from lmreport import analyses
from lmreport.analyses.attribution import compute as attribution
from lmreport.analyses.attribution import occlusion

PROMPT = "The key is on the"


def run(loaded, prompt=PROMPT, **options):
    spec = analyses.get("attribution")
    return spec.compute(loaded.forward(prompt), spec.parse_options({"prompt": prompt, **options}), loaded)


def row(data, name):
    return next(r for r in data["methods"] if r["name"] == name)


@pytest.fixture(scope="module")
def families(tiny_models, tmp_path_factory):
    """Tiny random models of the packed families the session fixtures do not cover (Mistral, Qwen2, Qwen3; the
    Llama fixture's tokenizer), loaded as lmreport loads any folder."""
    from transformers import (
        AutoTokenizer,
        MistralConfig,
        MistralForCausalLM,
        Qwen2Config,
        Qwen2ForCausalLM,
        Qwen3Config,
        Qwen3ForCausalLM,
    )

    from lmreport import models

    tokenizer = AutoTokenizer.from_pretrained(tiny_models["llama"])
    sizes = {"vocab_size": len(tokenizer), "hidden_size": 48, "intermediate_size": 96, "num_hidden_layers": 2,
             "num_attention_heads": 6, "num_key_value_heads": 2, "max_position_embeddings": 64,
             "bos_token_id": 0, "eos_token_id": 0}
    out = {}
    for name, config, cls in (("mistral", MistralConfig, MistralForCausalLM), ("qwen2", Qwen2Config, Qwen2ForCausalLM),
                              ("qwen3", Qwen3Config, Qwen3ForCausalLM)):
        torch.manual_seed(0)
        folder = tmp_path_factory.mktemp(name)
        cls(config(**sizes)).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        out[name] = models.load(models.resolve(str(folder)))
    return out


def plain_occlusion(loaded, monkeypatch, **options):
    """The analysis with packing off: Captum's FeatureAblation, one variant a row."""
    with monkeypatch.context() as m:
        m.setattr(occlusion, "packable", lambda model, n: False)
        return run(loaded, methods=["occlusion"], **options)


@pytest.mark.parametrize("name", ["gpt2", "llama", "mistral", "qwen2", "qwen3"])
def test_packed_occlusion_gives_the_plain_numbers_on_every_family_packed(name, request, monkeypatch):
    loaded = request.getfixturevalue(name) if name in ("gpt2", "llama") else request.getfixturevalue("families")[name]
    n = len(loaded.forward(PROMPT).tokens)
    assert occlusion.packable(loaded, n) and loaded.config.model_type in occlusion.PACKED
    packed = row(run(loaded, methods=["occlusion"], target=" the", contrast=" is"), "occlusion")
    plain = row(plain_occlusion(loaded, monkeypatch, target=" the", contrast=" is"), "occlusion")
    assert packed["scores"] == pytest.approx(plain["scores"], abs=1e-5)
    assert packed["passes"]["forward"] == 1 and plain["passes"]["forward"] == 1
    assert packed["passes"]["inputs"] == n + 1  # the variants and the prompt (the check), one row each
    # several packed passes give the same numbers as one
    embeds, baseline = occlusion_inputs(loaded)
    f = attribution.Attributed(loaded, loaded.forward(PROMPT).input_ids[-1], None)
    f_prompt = float(f(embeds)[0])
    one = occlusion.occluded(f.packed, embeds, baseline, f_prompt)
    small = occlusion.occluded(f.packed, embeds, baseline, f_prompt, rows=n + 2)
    assert len(occlusion.chunks(n, n + 2)) == n and small.tolist() == pytest.approx(one.tolist(), abs=1e-5)


def occlusion_inputs(loaded):
    ids = torch.tensor([loaded.forward(PROMPT).input_ids])
    table = loaded.model.get_input_embeddings()
    with torch.no_grad():
        return table(ids), table(torch.full_like(ids, attribution._neutral_token(loaded)))


def test_chunks_cover_every_position_once_within_the_rows():
    for n in (1, 2, 5, 17, 64):
        for rows in (1, n + 1, 3 * n, occlusion.ROWS):
            got = occlusion.chunks(n, rows)
            assert [i for chunk in got for i in chunk] == list(range(n))
            assert all(n + sum(n - i for i in chunk) <= rows or len(chunk) == 1 for chunk in got)
    assert occlusion.chunks(5) == [[0, 1, 2, 3, 4]]  # 5 + 15 rows: one pass


def test_a_model_that_ignores_the_mask_is_caught_and_run_plainly(gpt2, monkeypatch, caplog):
    embeds, baseline = occlusion_inputs(gpt2)
    f = attribution.Attributed(gpt2, 5, None)
    f_prompt = float(f(embeds)[0])

    def unmasked(x, positions, mask, keep):  # as a model that read neither would
        return f.packed(x, None, None, keep)

    assert occlusion.occluded(unmasked, embeds, baseline, f_prompt) is None
    def packed_unmasked(self, x, positions, mask, keep):
        with torch.no_grad():
            return self.quantity(self.logits(x, None, None, keep))

    monkeypatch.setattr(attribution.Attributed, "packed", packed_unmasked)
    caplog.set_level("WARNING", logger="lmreport.analyses.attribution")
    data = run(gpt2, methods=["occlusion"])
    assert "did not reproduce f(prompt)" in caplog.text
    assert row(data, "occlusion")["scores"] == pytest.approx(row(plain_occlusion(gpt2, monkeypatch), "occlusion")
                                                             ["scores"], abs=1e-5)


def test_not_packed_where_the_model_may_not_honour_the_mask(gpt2, bert, monkeypatch):
    assert occlusion.packable(gpt2, 8) and not occlusion.packable(bert, 8)  # no causal LM head
    monkeypatch.setattr(gpt2.config, "_attn_implementation", "flash_attention_2")
    assert not occlusion.packable(gpt2, 8)
    monkeypatch.setattr(gpt2.config, "_attn_implementation", "eager")
    monkeypatch.setattr(gpt2.config, "sliding_window", 4, raising=False)
    assert not occlusion.packable(gpt2, 8) and occlusion.packable(gpt2, 4)


@pytest.mark.parametrize("name", ["gpt2", "llama"])
def test_integrated_gradients_in_one_pass_are_captums_on_the_same_points(name, request):
    """With max_steps = steps the path is not cut: the scores are Captum's IntegratedGradients with that many
    Gauss-Legendre points, the same baseline and f; all points and f(baseline) in one pass."""
    from captum.attr import IntegratedGradients

    loaded = request.getfixturevalue(name)
    data = run(loaded, methods=["integrated_gradients"], steps=32, max_steps=32)
    ig = row(data, "integrated_gradients")
    assert ig["points"] == 32 and ig["passes"] == {"forward": 1, "backward": 1, "inputs": 33,
                                                   "planned": {"forward": 1, "backward": 1, "inputs": 33}}
    embeds, baseline = occlusion_inputs(loaded)
    target = data["target"]["id"]

    def f(x):
        return torch.log_softmax(loaded.model(inputs_embeds=x).logits[:, -1].float(), -1)[:, target]

    expected = IntegratedGradients(f).attribute(embeds.clone().requires_grad_(True), baselines=baseline,
                                                n_steps=32)[0].sum(-1)
    assert ig["scores"] == pytest.approx(expected.tolist(), abs=1e-5)
    with torch.no_grad():
        assert data["f_baseline"] == pytest.approx(float(f(baseline)), abs=1e-5)
        gap = float(f(embeds) - f(baseline))
    assert ig["convergence_delta"] == pytest.approx(sum(ig["scores"]) - gap, abs=1e-5)


def test_integrated_gradients_batched_equal_unbatched(llama):
    from lmreport.analyses.attribution.paths import integrated_gradients

    embeds, baseline = occlusion_inputs(llama)
    f = attribution.Attributed(llama, 5, None)
    runs = []
    for batch in (1, 3, 7, 100):  # 8 points and the baseline, then two cuts of 16 points (never settled)
        passes = f.passes
        runs.append(integrated_gradients(f, embeds, baseline, 8, 40, lambda fb: 1e-9, batch))
        assert f.passes - passes == -(-9 // batch) + 2 * -(-16 // batch)
    for other in runs[1:]:
        assert other.scores.tolist() == pytest.approx(runs[0].scores.tolist(), abs=1e-5)
        assert (other.points, other.pieces, other.f_baseline) == (runs[0].points, runs[0].pieces,
                                                                  pytest.approx(runs[0].f_baseline, abs=1e-5))
