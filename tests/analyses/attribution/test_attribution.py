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


def run_checked(loaded, prompt=PROMPT, **options):
    """As the build runs it: compute(), the model's sizes added, the whole checked against the declared shape."""
    spec = analyses.get("attribution")
    return spec.run(loaded.forward(prompt), spec.parse_options({"prompt": prompt, **options}), loaded)


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


def dense_integrated_gradients(f, x, baseline, points=2000):
    """Integrated gradients written out: the trapezoid rule over `points` + 1 evenly spaced points of the path,
    in fp64, each gradient by autograd; per token (summed over the embedding)."""
    alphas = torch.linspace(0, 1, points + 1, dtype=torch.float64)
    weights = torch.full_like(alphas, 1 / points)
    weights[0] = weights[-1] = 0.5 / points
    total = torch.zeros_like(x, dtype=torch.float64)
    for chunk in torch.split(torch.arange(points + 1), 250):
        a = alphas[chunk].view(-1, 1, 1)
        path = (baseline + a.float() * (x - baseline)).requires_grad_(True)
        (grad,) = torch.autograd.grad(f(path).sum(), path)
        total += (grad.double() * weights[chunk].view(-1, 1, 1)).sum(0, keepdim=True)
    return (total * (x - baseline).double()).sum(-1)[0]


@pytest.mark.parametrize("name", ["gpt2", "llama"])
def test_integrated_gradients_settle_on_a_dense_recomputation(name, request):
    loaded = request.getfixturevalue(name)
    data = run(loaded, methods=["integrated_gradients"], target=" the", contrast=" is", tolerance=0.01)
    f, x, baseline = quantity(loaded, PROMPT, data["target"]["id"], data["contrast"]["id"])
    with torch.no_grad():
        gap = float(f(x) - f(baseline))
    assert data["f_prompt"] - data["f_baseline"] == pytest.approx(gap, abs=1e-4)
    ig = row(data, "integrated_gradients")
    allowed = 0.01 * max(abs(gap), 1.0)
    assert ig["converged"] and ig["allowed"] == pytest.approx(allowed)
    assert ig["error_estimate"] <= allowed and abs(ig["convergence_delta"]) <= allowed
    assert ig["convergence_delta"] == pytest.approx(sum(ig["scores"]) - gap, abs=1e-5)
    expected = dense_integrated_gradients(f, x, baseline)
    assert float(expected.sum()) == pytest.approx(gap, abs=1e-3)  # the recomputation is complete itself
    assert float((torch.tensor(ig["scores"], dtype=torch.float64) - expected).abs().sum()) <= allowed
    assert ig["top"] == data["tokens"][int(expected.argmax())]
    assert ig["points"] % 8 == 0 and ig["points"] <= 2048 and ig["pieces"] >= 2


def spike(width=0.004, at=0.37):
    """A function of a [batch, n, d] input whose path from zeros to ones has a spike far narrower than 32 points'
    spacing: f(x) = sum over tokens i of w_i * bump((mean of token i's embedding - at) / width). It is a sum of
    functions of one token each, so integrated gradients of token i are exactly w_i * (bump(at x_i) - bump(at b_i))."""
    weights = torch.tensor([3.0, -2.0, 1.0])

    def bump(t):
        return torch.exp(-t * t)

    def f(x):
        return (weights * bump((x.mean(-1) - at) / width)).sum(-1)

    def exact(x, baseline):
        return (weights * (bump((x.mean(-1) - at) / width) - bump((baseline.mean(-1) - at) / width)))[0]

    return f, exact


def test_a_spike_on_the_path_is_found_where_a_fixed_rule_misses_it():
    from captum.attr import IntegratedGradients

    from lmreport.analyses.attribution.paths import integrated_gradients

    f, exact = spike()
    x = torch.tensor([[[0.9] * 4, [0.5] * 4, [0.2] * 4]])  # every token's path crosses 0.37 at its own place
    baseline = torch.zeros_like(x)
    expected = exact(x, baseline)
    fixed = IntegratedGradients(f).attribute(x, baselines=baseline, n_steps=32)[0].sum(-1)
    assert float((fixed - expected).abs().max()) > 0.5  # 32 points miss the spikes: the scores are wrong
    settled = integrated_gradients(f, x, baseline, points=8, max_points=4096, allowed=0.01, batch=16)
    assert settled.settled and settled.error <= 0.01
    assert float((settled.scores - expected).abs().sum()) <= 0.01
    assert settled.points < 4096 and settled.pieces > 8  # cut where the spikes are, not everywhere
    # too few points allowed: it says so instead of claiming to have settled
    short = integrated_gradients(f, x, baseline, points=8, max_points=64, allowed=0.01, batch=16)
    assert not short.settled and short.points <= 64 and short.error > 0.01


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

        def counted(x, *packed):
            out = run_logits(x, *packed)
            calls.append(int(out.shape[0]))  # inputs: one a logits row (a packed pass holds several in one row)
            return out

        return counted

    monkeypatch.setattr(attribution, "last_logits", counting)
    caplog.set_level("INFO", logger="lmreport.analyses.attribution")
    n = len(gpt2.tokenizer(PROMPT)["input_ids"])
    for method in attribution.METHODS:
        calls.clear()
        data = run(gpt2, methods=[method], samples=40, steps=8, max_steps=200, tolerance=0.001)
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


UNSETTLED = """# Unsettled

```lmreport
analysis: attribution
id: b
prompt: The key is on the
methods: [integrated_gradients, occlusion]
steps: 8
max_steps: 16
```

Integrated gradients put `=b.top("integrated_gradients")` first; occlusion `=b.top("occlusion")`.
"""


def test_scores_that_did_not_settle_name_no_top_token_and_warn_at_the_block(tmp_path, tiny_models, gpt2):
    import json

    from lmreport.analyses.attribution.values import attribution_agree
    from lmreport.build import build
    from lmreport.errors import BuildFailed
    from lmreport.glue.types import NotApplicableHere
    from tests.conftest import build_options, write_lesson

    # 16 points cannot cut the path even once: the error is never estimated, so the scores never settle
    data = run_checked(gpt2, methods=["integrated_gradients", "occlusion"], steps=8, max_steps=16)
    spec = analyses.get("attribution")
    ig = row(data, "integrated_gradients")
    assert ig["converged"] is False and ig["top"] is None and ig["error_estimate"] is None and ig["points"] == 8
    with pytest.raises(NotApplicableHere, match="did not settle"):
        spec.values["top"](data, "integrated_gradients")
    with pytest.raises(NotApplicableHere, match="did not settle"):
        spec.values["score"](data, "integrated_gradients", data["tokens"][0])
    assert spec.values["top"](data, "occlusion") == row(data, "occlusion")["top"]
    assert attribution_agree(data) == "yes"  # only methods that settled are compared
    (warning,) = spec.warnings_for(data)
    assert "did not settle" in warning and "after 8 points" in warning

    write_lesson(tmp_path / "lessons", "01-u.md", UNSETTLED)
    summary = build(build_options(tmp_path, tiny_models["gpt2"]))
    block = [w for w in summary.warnings if "integrated gradients did not settle" in w]
    assert len(block) == 1 and "01-u.md:3:" in block[0], summary.warnings  # at the block's line
    assert any("01-u.md:12:" in w and "is n/a" in w for w in summary.warnings), summary.warnings  # the citation's
    page = (tmp_path / "site" / "01-u.html").read_text()
    assert "top: n/a (not settled)" in page and "attr-unsettled" in page and "did not settle" in page
    rows = (tmp_path / "site" / "data" / "01-u-1-attribution.csv").read_text().splitlines()
    assert rows[0].endswith(",settled") and rows[1].endswith(",no") and rows[-1].endswith(",yes")
    assert json.loads((tmp_path / "site" / "data" / "01-u-1-attribution.json").read_text())["data"]["methods"][0][
        "top"] is None
    with pytest.raises(BuildFailed, match="did not settle"):
        build(build_options(tmp_path, tiny_models["gpt2"], strict=True))


def test_a_crafted_attribution_result_that_disagrees_with_itself_is_refused(gpt2):
    from lmreport.analyses.schema import ResultShapeError

    spec = analyses.get("attribution")
    data = run_checked(gpt2, methods=["integrated_gradients", "occlusion"], steps=8, max_steps=64)

    def crafted(change):
        import copy

        bad = copy.deepcopy(data)
        change(bad)
        with pytest.raises(ResultShapeError, match="not consistent"):
            spec.check(bad)

    crafted(lambda d: d["methods"][1]["scores"].pop())
    crafted(lambda d: d["input_ids"].append(1))
    crafted(lambda d: d["methods"][1].update(top="<b>not a token</b>"))
    crafted(lambda d: d["methods"][1].update(scores=[-s for s in d["methods"][1]["scores"]]) if len(
        set(d["methods"][1]["scores"])) > 1 else d["methods"][1].update(top="x"))
    crafted(lambda d: d["methods"][0].update(converged=False))  # unsettled, yet naming a top token
    crafted(lambda d: d["methods"][0].pop("points"))
    crafted(lambda d: d["methods"][0].update(converged=True, error_estimate=None))
    crafted(lambda d: d["methods"][1].update(tied=[d["tokens"][0]]))  # a tie of one, and a top token besides
    crafted(lambda d: d["methods"][1].update(top=None, tied=["<i>", "x"]))  # tied tokens not of the prompt


def test_a_top_token_within_the_error_of_the_next_is_not_named():
    from lmreport.analyses.attribution.compute import _top
    from lmreport.glue.types import NotApplicableHere

    tokens = ["a", "b", "c"]
    row = {"scores": [0.9, 1.0, 0.0], "converged": True, "error_estimate": 0.2}
    assert _top(row, tokens) == {"top": None, "tied": ["b", "a"]}
    assert _top({**row, "error_estimate": 0.05}, tokens) == {"top": "b"}
    assert _top({**row, "converged": False}, tokens) == {"top": None}
    assert _top({"scores": [0.9, 1.0, 0.0]}, tokens) == {"top": "b"}  # a method with no error estimate
    data = {"tokens": tokens, "methods": [{**row, "name": "integrated_gradients", "top": None, "tied": ["b", "a"]}]}
    with pytest.raises(NotApplicableHere, match="'b', 'a' within the estimated error"):
        analyses.get("attribution").values["top"](data, "integrated_gradients")


def test_sampled_methods_are_the_mean_of_two_seeded_runs_and_say_how_far_apart_they_are(llama):
    from captum.attr import ShapleyValueSampling

    data = run(llama, methods=["shapley"], samples=7)
    f, x, baseline = quantity(llama, PROMPT, data["target"]["id"])
    n = x.shape[1]
    mask = torch.arange(n).view(1, n, 1).expand_as(x).contiguous()
    runs = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        with torch.no_grad():
            out = ShapleyValueSampling(f).attribute(x, baselines=baseline, feature_mask=mask, n_samples=7)
        runs.append(out[0, :, 0].double())
    shapley = row(data, "shapley")
    assert shapley["scores"] == pytest.approx(((runs[0] + runs[1]) / 2).tolist(), abs=1e-4)
    assert shapley["error_estimate"] == pytest.approx(float((runs[0] - runs[1]).abs().sum() / 2), abs=1e-4)
    scores = shapley["scores"]
    best = max(scores)
    close = [t for t, s in zip(data["tokens"], scores, strict=True) if best - s <= shapley["error_estimate"]]
    assert (shapley["top"], shapley.get("tied")) == ((close[0], None) if len(close) == 1 else (None, shapley["tied"]))
    assert shapley.get("tied") is None or sorted(shapley["tied"]) == sorted(close)
