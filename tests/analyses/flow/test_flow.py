"""Information-flow routes, checked against the L1-proximity rule written out here from the model's own modules
(value and output projections, attention weights and the residual stream read with hooks), and the route walk
against a graph small enough to follow by hand."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch

from lmreport import analyses
from lmreport.analyses.flow import compute as flow
from lmreport.analyses.flow import routes as flow_routes
from lmreport.analyses.flow import values as flow_values
from lmreport.errors import AnalysisError, NotApplicable
from lmreport.glue.types import ReferenceProblem

PROMPT = "The keys to the cabinet are"
LAYERS = {"gpt2": lambda m: m.transformer.h, "llama": lambda m: m.model.layers}


def run(loaded, **options):
    spec = analyses.get("flow")
    parsed = spec.parse_options({"prompt": PROMPT, **options})
    return spec.compute(loaded.forward(PROMPT), parsed, loaded)


def recorded(loaded, kind):
    """Per layer: the residual stream into the block, what attention and the MLP added, the values, the output
    projection's weight [heads, d_head, d_model] and bias, and the attention weights, all read by name."""
    model = loaded.model
    blocks = LAYERS[kind](model)
    seen = {}
    hooks = []
    for i, block in enumerate(blocks):
        attn, mlp = (block.attn, block.mlp) if kind == "gpt2" else (block.self_attn, block.mlp)
        hooks.append(block.register_forward_pre_hook(lambda m, a, i=i: seen.__setitem__(("in", i), a[0][0].double())))
        hooks.append(attn.register_forward_hook(lambda m, a, o, i=i: seen.__setitem__(("attn", i), o[0][0].double())))
        hooks.append(mlp.register_forward_hook(lambda m, a, o, i=i: seen.__setitem__(("mlp", i), o[0].double())))
        value = block.attn.c_attn if kind == "gpt2" else block.self_attn.v_proj
        hooks.append(value.register_forward_hook(lambda m, a, o, i=i: seen.__setitem__(("v", i), o[0].double())))
        hooks.append(mlp.register_forward_hook(lambda m, a, o, i=i: seen.__setitem__(("act_in", i), a[0][0].double())))
    enc = loaded.tokenizer(PROMPT, return_tensors="pt")
    with torch.no_grad():
        out = model(**enc, output_attentions=True)
    for h in hooks:
        h.remove()
    config = model.config
    n_heads = config.num_attention_heads
    d_model = config.hidden_size
    d_head = d_model // n_heads
    layers = []
    for i, block in enumerate(blocks):
        if kind == "gpt2":
            v = seen[("v", i)][:, 2 * d_model:]
            w_o = block.attn.c_proj.weight.detach().double()  # Conv1D: [in, out]
            b_o = block.attn.c_proj.bias.detach().double()
            groups = 1
        else:
            v = seen[("v", i)]
            w_o = block.self_attn.o_proj.weight.detach().double().T
            b_o = torch.zeros(d_model, dtype=torch.double)
            groups = n_heads // config.num_key_value_heads
        layers.append({"pre": seen[("in", i)], "attn_out": seen[("attn", i)], "mlp_out": seen[("mlp", i)],
                       "v": v.reshape(v.shape[0], -1, d_head), "groups": groups,
                       "w_o": w_o.reshape(n_heads, d_head, d_model), "b_o": b_o,
                       "a": out.attentions[i][0].double()})
    return layers


def with_biases(loaded):
    """A copy of a tiny model whose biases are not zero (a fresh GPT-2's are), so where they go is tested."""
    model = copy.deepcopy(loaded.model)
    torch.manual_seed(1)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("bias"):
                parameter.normal_(0, 0.05)
    return dataclasses.replace(loaded, model=model, _forwards={})


def l1_shares(parts, whole):
    """The rule, one part at a time: max(‖w‖₁ − ‖w − p‖₁, 0), over the sum of them."""
    near = [max(float(whole.abs().sum() - (whole - p).abs().sum()), 0.0) for p in parts]
    return [x / sum(near) for x in near]


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_flow_shares_follow_the_l1_proximity_rule(kind, request):
    loaded = request.getfixturevalue(kind)
    loaded = with_biases(loaded) if kind == "gpt2" else loaded
    data = run(loaded, floor=0.001, threshold=0.001)
    layers = recorded(loaded, kind)
    n = len(data["tokens"])
    edges = {(e[0], e[1], e[2]): e for e in data["edges"]}
    checked = 0
    for layer in (0, len(layers) - 1):
        rec = layers[layer]
        n_heads = rec["w_o"].shape[0]
        for t in range(n):
            parts, labels = [], []
            for s in range(t + 1):
                for h in range(n_heads):
                    head_value = rec["v"][s, h // rec["groups"]]
                    parts.append(rec["a"][h, t, s] * head_value @ rec["w_o"][h])
                    labels.append((s, h))
            incoming = rec["pre"][t] + rec["b_o"]
            whole = rec["pre"][t] + rec["attn_out"][t]
            # The parts are a decomposition of what attention wrote: they add up to it.
            assert torch.allclose(sum(parts) + incoming, whole, atol=1e-5)
            shares = l1_shares(parts + [incoming], whole)
            assert sum(shares) == pytest.approx(1.0)
            assert data["residual"][layer][t] == pytest.approx(shares[-1], abs=2e-5)
            for s in range(t + 1):
                share = sum(x for (src, _), x in zip(labels, shares[:-1], strict=True) if src == s)
                share += shares[-1] if s == t else 0.0
                edge = edges.get((layer + 1, s, t))  # edges and nodes name blocks from 1
                if edge is None:
                    # Only edges off every route at the floor are left out.
                    assert share < 0.001 or not _reached(data, f"a{layer + 1}_{t}")
                    continue
                checked += 1
                assert edge[3] == pytest.approx(share, abs=2e-5)
                top_head = max(range(n_heads), key=lambda h: shares[labels.index((s, h))])
                assert edge[4][0][0] == top_head
            mid = whole
            post = mid + rec["mlp_out"][t]
            assert data["ffn"][layer][t] == pytest.approx(l1_shares([rec["mlp_out"][t], mid], post)[0], abs=2e-5)
    assert checked > n  # most edges were compared, not skipped


def _reached(data, node):
    return node in flow_routes.routes(data["edges"], data["ffn"], data["output"], data["floor"])[0]


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_each_sums_shares_add_up_to_one_before_pruning(kind, request):
    loaded = request.getfixturevalue(kind)
    forward = loaded.forward(PROMPT)
    blocks = flow._blocks(loaded, forward)
    for block in blocks:
        shares = flow._layer_shares(block, len(forward.tokens) - 1)
        for t, attention in enumerate(shares["attention"]):
            assert float(attention.sum() + shares["residual"][t]) == pytest.approx(1.0, abs=1e-12)
            assert attention.shape == (t + 1, forward.attentions.shape[1])
            assert (attention >= 0).all()
        assert ((shares["ffn"] >= 0) & (shares["ffn"] <= 1)).all()


def test_routes_walk_back_from_the_output_over_edges_above_the_threshold():
    # One block (block 1: blocks count from 1, as on every page), two tokens; the output is r1_1. Token 1 reads
    # token 0 (0.3) and itself with the residual (0.7);
    # the MLP carries 0.2 of the block's output, the residual past it 0.8.
    edges = [[1, 0, 1, 0.3, [], None], [1, 1, 1, 0.7, [], 0.6], [1, 0, 0, 1.0, [], 1.0]]
    ffn = [[0.5, 0.2]]
    nodes, kept = flow_routes.routes(edges, ffn, "r1_1", 0.1)
    assert nodes == {"r1_1", "m1_1", "a1_1", "x0", "x1"}
    assert sorted(kept) == sorted([("m1_1", "r1_1", 0.2), ("a1_1", "r1_1", 0.8), ("a1_1", "m1_1", 0.2),
                                   ("x0", "a1_1", 0.3), ("x1", "a1_1", 0.7)])
    nodes, _ = flow_routes.routes(edges, ffn, "r1_1", 0.25)
    assert nodes == {"r1_1", "a1_1", "x0", "x1"}  # the MLP's 0.2 is pruned
    nodes, _ = flow_routes.routes(edges, ffn, "r1_1", 0.5)
    assert nodes == {"r1_1", "a1_1", "x1"}  # token 0 is no longer reached
    data = {"edges": edges, "ffn": ffn, "output": "r1_1", "threshold": 0.1, "floor": 0.05, "tokens": ["a", "b"]}
    assert flow_values.flow_nodes(data) == 5 and flow_values.flow_nodes(data, 0.5) == 3
    assert flow_values.flow_reaches(data, "a", 0.25) == "yes" and flow_values.flow_reaches(data, "a", 0.5) == "no"
    with pytest.raises(ReferenceProblem, match="below the block's floor"):
        flow_values.flow_nodes(data, 0.01)


def test_flow_details_name_the_heads_and_neurons_that_count(llama):
    data = run(llama, floor=0.01)
    forward = llama.forward(PROMPT)
    blocks = flow._blocks(llama, forward)
    position = data["position"]
    layer = len(blocks) - 1
    node = data["nodes"][f"a{layer + 1}_{position}"]  # node ids name blocks from 1
    shares = flow._layer_shares(blocks[layer], position)["attention"][position].sum(0)
    assert [h for h, *_ in node["heads"]] == shares.argsort(descending=True)[:3].tolist()
    assert node["heads"][0][1] == pytest.approx(float(shares.max()), abs=1e-5)
    # What the strongest head promotes: its output at the position through the final norm (scale held at the
    # output position's value) and the tied unembedding, written out here.
    h = node["heads"][0][0]
    rec = recorded(llama, "llama")[layer]
    out = sum(rec["a"][h, position, s] * rec["v"][s, h // rec["groups"]] @ rec["w_o"][h] for s in range(position + 1))
    norm = llama.model.model.norm
    x = forward.hidden_states[-1, position].double()
    normed = out / torch.sqrt((x**2).mean() + norm.variance_epsilon) * norm.weight.double()
    logits = normed @ llama.model.lm_head.weight.double().T
    promoted = [data["vocab"][i] for i in node["heads"][0][2]]
    assert promoted == llama.token_texts(logits.topk(3).indices.tolist())
    suppressed = [data["vocab"][i] for i in node["heads"][0][3]]
    assert suppressed == llama.token_texts((-logits).topk(3).indices.tolist())
    mlp = data["nodes"].get(f"m{layer + 1}_{position}")
    if mlp is not None:
        acts = forward.mlp_activations[layer, position].double()
        neuron, share, activation = mlp["neurons"][0][:3]
        assert activation == pytest.approx(float(acts[neuron]), abs=1e-3)
        assert 0 < share <= 1


def test_flow_values_at_the_output(gpt2):
    data = run(gpt2)
    last = data["position"]
    for layer, row in enumerate(data["at_output"], 1):  # values name blocks from 1, as the pages do
        assert row["attention"] == pytest.approx(1 - data["residual"][layer - 1][last], abs=1e-4)
        assert row["ffn"] == data["ffn"][layer - 1][last]
        assert flow_values.flow_reads(data, layer) == data["tokens"][row["reads"]]
        assert row["reads"] != last
        token = data["tokens"][row["reads"]]
        last_seen = max(i for i, t in enumerate(data["tokens"]) if t == token)
        head = max(range(len(row["read"][last_seen])), key=lambda h: row["read"][last_seen][h])
        assert flow_values.flow_reads_head(data, layer, token) == f"layer {layer}, head {head}"
        assert sum(map(sum, row["read"])) == pytest.approx(row["attention"], abs=1e-3)
    best = max((s, layer, h) for layer, row in enumerate(data["at_output"], 1) for h, s in enumerate(row["heads"]))
    assert flow_values.flow_reads(data, -1) == flow_values.flow_reads(data, len(data["at_output"]))
    with pytest.raises(ReferenceProblem, match="layer 0 is out of range"):
        flow_values.flow_reads(data, 0)
    assert flow_values.flow_top_head(data) == f"layer {best[1]}, head {best[2]}"
    read = data["at_output"][best[1] - 1]["read"]
    source = max(range(last), key=lambda s: read[s][best[2]])
    assert flow_values.flow_top_head_reads(data) == data["tokens"][source]
    assert data["predicted"]["id"] == int(gpt2.forward(PROMPT).logits[-1].argmax())


def test_flow_errors(gpt2, bert):
    with pytest.raises(AnalysisError, match="floor .* is above threshold"):
        run(gpt2, floor=0.2, threshold=0.1)
    with pytest.raises(AnalysisError, match="outside the prompt"):
        run(gpt2, position=40)
    with pytest.raises(NotApplicable, match="encoder"):
        run(bert)
    data = run(gpt2, position=2)
    assert data["output"] == f"r{len(data['ffn'])}_2" and all(len(row) == 3 for row in data["ffn"])
