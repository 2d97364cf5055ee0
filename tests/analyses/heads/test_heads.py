"""Direct logit attribution per head, checked against the attention output each layer really wrote (read with a
hook on its output projection) and a final norm written out here with its scale held fixed."""

from __future__ import annotations

import pytest
import torch

from lmreport import analyses
from lmreport.errors import AnalysisError

PROMPT = "The keys to the cabinet are on the"
NORM = {"gpt2": lambda m: m.transformer.ln_f, "llama": lambda m: m.model.norm}
OUT_PROJ = {"gpt2": lambda layer: layer.attn.c_proj, "llama": lambda layer: layer.self_attn.o_proj}
LAYERS = {"gpt2": lambda m: m.transformer.h, "llama": lambda m: m.model.layers}


def run(loaded, **options):
    spec = analyses.get("heads")
    parsed = spec.parse_options({"prompt": PROMPT, **options})
    return spec.compute(loaded.forward(PROMPT), parsed, loaded)


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_heads_add_up_to_each_layers_attention_output(kind, request):
    loaded = request.getfixturevalue(kind)
    data = run(loaded, target=" the", contrast=" is")
    model = loaded.model
    written = {}
    hooks = [OUT_PROJ[kind](layer).register_forward_hook(
        lambda module, args, out, i=i: written.__setitem__(i, out[0, -1].double() - (
            module.bias.double() if module.bias is not None else 0)))
        for i, layer in enumerate(LAYERS[kind](model))]
    enc = loaded.tokenizer(PROMPT, return_tensors="pt")
    with torch.no_grad():
        out = model(**enc, output_hidden_states=True)
    for h in hooks:
        h.remove()
    norm = NORM[kind](model)
    # The residual stream before the final norm at the last position: the norm's input, captured by a hook.
    captured = {}
    handle = norm.register_forward_pre_hook(lambda module, args: captured.__setitem__("x", args[0][0, -1].double()))
    with torch.no_grad():
        model(**enc)
    handle.remove()
    x = captured["x"]
    eps = getattr(norm, "eps", None) or norm.variance_epsilon
    weight = norm.weight.double()
    if kind == "gpt2":
        sigma = torch.sqrt(x.var(unbiased=False) + eps)
        frozen = lambda v: (v - v.mean()) / sigma * weight  # noqa: E731
        bias = norm.bias.double()
    else:
        sigma = torch.sqrt((x**2).mean() + eps)
        frozen = lambda v: v / sigma * weight  # noqa: E731
        bias = 0
    w = model.get_output_embeddings().weight.double()
    the, is_ = (loaded.single_token(t) for t in (" the", " is"))
    u = w[the] - w[is_]
    for layer, row in enumerate(data["contributions"]):
        assert sum(row) == pytest.approx(float(frozen(written[layer]) @ u), rel=1e-4, abs=1e-5)
    # The frozen norm gives back the model's own logit difference at this residual.
    logits = out.logits[0, -1].double()
    assert float((frozen(x) + bias) @ u) == pytest.approx(float(logits[the] - logits[is_]), rel=1e-4, abs=1e-4)
    assert data["logit"] == pytest.approx(float(logits[the] - logits[is_]), rel=1e-5, abs=1e-5)
    assert data["heads_total"] == pytest.approx(sum(sum(r) for r in data["contributions"]))
    top = max(((abs(v), layer, head) for layer, r in enumerate(data["contributions"]) for head, v in enumerate(r)))
    assert (data["top"]["layer"], data["top"]["head"]) == (top[1] + 1, top[2])  # blocks count from 1
    assert data["layers"] == list(range(1, len(data["contributions"]) + 1))
    # Where each head looked from the last token: the model's own attention rows.
    attentions = model(**enc, output_attentions=True).attentions
    assert data["attention"][1][2] == pytest.approx(attentions[1][0, 2, -1].tolist(), abs=1e-4)


def test_heads_errors_and_page(gpt2, tmp_path, tiny_models):
    with pytest.raises(AnalysisError, match="contrast is the target itself"):
        run(gpt2, target=" the", contrast=" the")
    from lmreport.build import BuildOptions, build
    from tests.conftest import write_lesson

    write_lesson(tmp_path / "lessons", "01-a.md", "# A\n\n```lmreport\nanalysis: heads\nid: h\n"
                 "prompt: \"The <b>key</b> is\"\n```\n\nStrongest: `=h.top`.\n")
    build(BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site", model=str(tiny_models["gpt2"]),
                       cache_dir=tmp_path / "cache", progress=False))
    page = (tmp_path / "site" / "01-a.html").read_text()
    assert "<b>" not in page and page.count('class="head-cell"') == 3 * 4
    assert '<script src="assets/heads.js"></script>' in page and (tmp_path / "site/assets/heads.js").is_file()


def test_signed_top_heads_name_the_largest_push_for_and_against(gpt2):
    from lmreport.analyses.heads import values

    data = run(gpt2)
    cells = [(layer, head, v) for layer, row in enumerate(data["contributions"], 1) for head, v in enumerate(row)]
    best = max(cells, key=lambda c: c[2])
    worst = min(cells, key=lambda c: c[2])
    biggest = max(cells, key=lambda c: abs(c[2]))
    assert values.heads_top(data) == f"layer {biggest[0]}, head {biggest[1]}"
    if best[2] > 0:
        assert values.heads_top_for(data) == f"layer {best[0]}, head {best[1]}"
        assert values.heads_top_for_value(data) == pytest.approx(best[2])
    if worst[2] < 0:
        assert values.heads_top_against(data) == f"layer {worst[0]}, head {worst[1]}"
        assert values.heads_top_against_value(data) == pytest.approx(worst[2])
    assert best[2] > 0 or worst[2] < 0
    only_positive = {**data, "contributions": [[abs(v) for v in row] for row in data["contributions"]]}
    from lmreport.glue.types import NotApplicableHere

    with pytest.raises(NotApplicableHere, match="against"):
        values.heads_top_against(only_positive)
