"""Input attribution checked against computations written here by hand: autograd for the gradient methods,
completeness for integrated gradients, explicit re-runs for occlusion, exact Shapley values by enumerating
every subset of a 4-token prompt."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from lmreport import analyses
from lmreport.errors import AnalysisError

PROMPT = "The key is on the"


def run(loaded, prompt=PROMPT, **options):
    spec = analyses.get("attribution")
    return spec.compute(loaded.forward(prompt), spec.parse_options({"prompt": prompt, **options}), loaded)


def quantity(loaded, prompt, target, contrast=None):
    """f(embeddings) for one prompt, written out: log-softmax of the last logits at the target (minus the
    contrast's); and the prompt's embeddings and the neutral baseline's."""
    ids = torch.tensor([loaded.tokenizer(prompt)["input_ids"]])
    table = loaded.model.get_input_embeddings()
    neutral = next(t for t in (loaded.tokenizer.pad_token_id, loaded.tokenizer.eos_token_id,
                               loaded.tokenizer.bos_token_id, 0) if isinstance(t, int))

    def f(embeds):
        log_probs = torch.log_softmax(loaded.model(inputs_embeds=embeds).logits[:, -1].float(), -1)
        return log_probs[:, target] - (log_probs[:, contrast] if contrast is not None else 0)

    with torch.no_grad():
        return f, table(ids).detach(), table(torch.full_like(ids, neutral)).detach()


def row(data, name):
    return next(r for r in data["methods"] if r["name"] == name)


def test_gradient_methods_match_autograd(gpt2):
    data = run(gpt2, methods=["saliency", "gradient_x_input"])
    f, x, _ = quantity(gpt2, PROMPT, data["target"]["id"])
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(x).sum(), x)
    assert row(data, "gradient_x_input")["scores"] == pytest.approx((grad * x).sum(-1)[0].tolist(), rel=1e-4, abs=1e-6)
    assert row(data, "saliency")["scores"] == pytest.approx(grad.norm(dim=-1)[0].tolist(), rel=1e-4, abs=1e-6)
    # The target is the predicted token, and f(prompt) its log-probability.
    probs = torch.softmax(gpt2.forward(PROMPT).logits[-1].double(), -1)
    assert data["target"]["id"] == int(probs.argmax())
    assert data["f_prompt"] == pytest.approx(math.log(float(probs.max())), abs=1e-4)


@pytest.mark.parametrize("name", ["gpt2", "llama"])
def test_integrated_gradients_add_up_to_the_difference_from_the_baseline(name, request):
    loaded = request.getfixturevalue(name)
    data = run(loaded, methods=["integrated_gradients"], steps=128, target=" the", contrast=" is")
    f, x, baseline = quantity(loaded, PROMPT, data["target"]["id"], data["contrast"]["id"])
    with torch.no_grad():
        gap = float(f(x) - f(baseline))
    assert data["f_prompt"] - data["f_baseline"] == pytest.approx(gap, abs=1e-4)
    ig = row(data, "integrated_gradients")
    assert sum(ig["scores"]) == pytest.approx(gap, rel=0.02, abs=1e-3)  # completeness
    assert abs(ig["convergence_delta"]) < 0.02 * max(abs(gap), 0.05)


def test_occlusion_matches_explicit_reruns_with_the_token_replaced(gpt2):
    data = run(gpt2, methods=["occlusion"])
    f, x, baseline = quantity(gpt2, PROMPT, data["target"]["id"])
    expected = []
    with torch.no_grad():
        for i in range(x.shape[1]):
            replaced = x.clone()
            replaced[0, i] = baseline[0, i]
            expected.append(float(f(x) - f(replaced)))
    assert row(data, "occlusion")["scores"] == pytest.approx(expected, abs=1e-4)


def exact_shapley(loaded, prompt, target):
    """Shapley values of each token by enumerating every subset of present tokens (absent: the neutral one), and
    f at each subset."""
    f, x, baseline = quantity(loaded, prompt, target)
    n = x.shape[1]
    value = {}
    with torch.no_grad():
        for present in itertools.product([0, 1], repeat=n):
            keep = torch.tensor(present, dtype=torch.bool).view(1, n, 1)
            value[present] = float(f(torch.where(keep, x, baseline)))
    exact = []
    for i in range(n):
        total = 0.0
        for present in value:
            if present[i]:
                continue
            size = sum(present)
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            with_i = present[:i] + (1,) + present[i + 1:]
            total += weight * (value[with_i] - value[present])
        exact.append(total)
    assert sum(exact) == pytest.approx(value[(1,) * n] - value[(0,) * n], abs=1e-5)  # the exact values add up
    return exact


@pytest.mark.parametrize("method", ["shapley", "kernel_shap"])
def test_sampled_shapley_methods_approach_exact_shapley_values(llama, method):
    prompt = "The key is on"
    assert len(llama.tokenizer(prompt)["input_ids"]) == 4
    data = run(llama, prompt, methods=[method], samples=500)
    exact = exact_shapley(llama, prompt, data["target"]["id"])
    sampled = row(data, method)["scores"]
    scale = max(abs(e) for e in exact)
    assert max(abs(s - e) for s, e in zip(sampled, exact, strict=True)) < 0.1 * scale


def test_the_passes_stated_are_the_passes_run_and_repeats_are_not_run(gpt2, monkeypatch, caplog):
    from lmreport.analyses.attribution import compute as attribution

    calls = []
    real = attribution.last_logits

    def counting(model):
        run_logits = real(model)

        def counted(x):
            calls.append(int(x.shape[0]))
            return run_logits(x)

        return counted

    monkeypatch.setattr(attribution, "last_logits", counting)
    caplog.set_level("INFO", logger="lmreport.analyses.attribution")
    n = len(gpt2.tokenizer(PROMPT)["input_ids"])
    for method in attribution.METHODS:
        calls.clear()
        data = run(gpt2, methods=[method], samples=40, steps=20)
        passes = row(data, method)["passes"]
        # Every model call the method made is counted. After it, f(prompt) comes from the forward pass and
        # f(baseline), for the page's note, is one more input unless the method ran it.
        ran, after = calls[:passes["forward"]], calls[passes["forward"]:]
        assert (passes["forward"], passes["inputs"]) == (len(ran), sum(ran)), method
        assert after in ([], [1]), method
        planned = passes["planned"]
        assert passes["forward"] <= planned["forward"] and passes["inputs"] <= planned["inputs"], method
        assert f"{method} {planned['forward']}+{planned['backward']}" in caplog.text
        if method not in attribution.GRADIENT:
            assert passes["inputs"] <= 2**n  # a subset of present tokens is run once at most
    assert f"attribution of {n} tokens: at most" in caplog.text


def test_inputs_seen_before_give_the_same_values_as_running_them(gpt2):
    data = run(gpt2, methods=["shapley", "occlusion"], samples=30)
    f, x, baseline = quantity(gpt2, PROMPT, data["target"]["id"])
    with torch.no_grad():
        assert data["f_prompt"] == pytest.approx(float(f(x)), abs=1e-4)
        assert data["f_baseline"] == pytest.approx(float(f(baseline)), abs=1e-4)
    shapley = row(data, "shapley")
    assert shapley["passes"]["inputs"] < shapley["passes"]["planned"]["inputs"]
    assert sum(shapley["scores"]) == pytest.approx(data["f_prompt"] - data["f_baseline"], abs=1e-3)  # efficiency


def test_lime_and_tops_and_bad_options(gpt2):
    data = run(gpt2, methods=["lime", "occlusion"], samples=50, target=" the")
    assert data["target"]["token"] == " the" and len(row(data, "lime")["scores"]) == len(data["tokens"])
    assert all(math.isfinite(s) for s in row(data, "lime")["scores"])
    for r in data["methods"]:
        assert r["top"] == data["tokens"][max(range(len(r["scores"])), key=r["scores"].__getitem__)]
    with pytest.raises(AnalysisError, match="contrast is the target itself"):
        run(gpt2, target=" the", contrast=" the")
    with pytest.raises(analyses.OptionError, match="'magic' is not one of"):
        analyses.get("attribution").parse_options({"prompt": "x", "methods": ["magic"]})


def test_attribution_page_escapes_and_explains(tmp_path, tiny_models):
    from lmreport.build import BuildOptions, build
    from tests.conftest import write_lesson

    write_lesson(tmp_path / "lessons", "01-a.md", "# A\n\n```lmreport\nanalysis: attribution\nid: why\n"
                 "prompt: \"The key <b>is</b> on the\"\nmethods: [occlusion, gradient_x_input]\n```\n\n"
                 "Top by occlusion: `=why.top(\"occlusion\")`.\n")
    build(BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site", model=str(tiny_models["gpt2"]),
                       cache_dir=tmp_path / "cache", progress=False))
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert "<b>" not in page and page.count('class="attribution-row"') == 2
    assert "log p(target) at the output of the last position" in page and "An absent token is replaced by" in page


def test_sampled_methods_are_seeded(gpt2):
    first = run(gpt2, methods=["shapley", "lime"], samples=10)
    torch.manual_seed(1234)  # whatever state the process is in
    second = run(gpt2, methods=["shapley", "lime"], samples=10)
    assert [r["scores"] for r in first["methods"]] == [r["scores"] for r in second["methods"]]


def test_the_disagreement_note_names_only_the_kinds_of_method_shown(gpt2):
    from lmreport.analyses import render
    from lmreport.result import Result

    options = {"prompt": PROMPT, "methods": ["gradient_x_input", "occlusion", "shapley"]}
    data = run(gpt2, methods=options["methods"])
    for i, row in enumerate(data["methods"]):  # make the methods disagree whatever the tiny model says
        row["top"] = data["tokens"][i % len(data["tokens"])]
    html = render(Result("attribution", {**analyses.get("attribution").parse_options(options)}, {"name": "m"},
                         data), "fig-1").html
    note = html.split("The signed methods disagree", 1)[1].split("</p>", 1)[0]
    assert "a local slope" in note and "removing one token" in note and "removing subsets" in note
    assert "path integral" not in note
