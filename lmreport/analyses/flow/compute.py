"""Information-flow routes (Ferrando & Voita, 2024, the method of the LM Transparency Tool).

Each block adds to the residual stream twice. First the attention block: at position t it adds
Σ_h Σ_{s≤t} a[h,t,s] · v[s,h] W_O[h], a sum with one part per (token read, head); then the MLP adds its output.
How much each part counts in the sum it belongs to is its L1 proximity to that sum,
max(‖whole‖₁ − ‖whole − part‖₁, 0), divided by the proximities of all the parts (the residual stream that
came in is one part), so the shares of each sum add up to 1. Biases of the two output projections count with
the incoming residual stream: they belong to no token and no head.

The result is a graph from the inputs to the chosen position's output: an edge from each token read to the
token reading (its heads' shares added up, and the residual stream's when the token reads itself), an edge
through the MLP and one past it. A route keeps the edges whose share is above a threshold, walking back from
the output; the page gets every edge above a floor and lets the reader raise the threshold. For the nodes on
the routes, the heads and MLP neurons that count most are listed with what their output promotes and
suppresses: the vector read through the final norm (its scale held at the value at the output position, as
the heads analysis does) and the unembedding.

Blocks count from 1, as on every page (layer 0 is the embeddings, layer n the residual stream after block n).
Node ids: x<t> the embedding of token t; a<n>_<t>, m<n>_<t> and r<n>_<t> block n's residual stream after
attention, its MLP and the residual stream after the block. An edge [n, s, t, share, ...] is block n's
attention at t reading s; "ffn"[n - 1] and "at_output"[n - 1] are block n's.
"""

from __future__ import annotations

from typing import Any

from lmreport.analyses.flow.routes import node_below, routes
from lmreport.errors import AnalysisError, NotApplicable
from lmreport.models import architecture
from lmreport.models.forward import ForwardPass, LoadedModel, unbatched
from lmreport.models.readouts import frozen_norm

MAX_TOKENS = 64


# Families whose blocks feed attention and the MLP the same input and add both (config.model_type); GPT-NeoX and
# Falcon say so in their configs.
PARALLEL = frozenset({"phi", "gptj", "codegen", "cohere", "gpt_neox_japanese"})


VOCAB_TOKENS = 3  # promoted and suppressed tokens listed per head or neuron


def proximity(parts: Any, whole: Any) -> Any:
    """Each part's L1 proximity to the whole, max(‖whole‖₁ − ‖whole − part‖₁, 0). parts: [k, d], whole: [d] -> [k]."""
    import torch

    return (whole.abs().sum() - torch.cdist(parts, whole[None], p=1)[:, 0]).clamp(min=0)


def proximity_shares(parts: Any, whole: Any) -> Any:
    """Each part's share of the whole by L1 proximity, normalised to add up to 1 (equal shares if no part is near
    at all). parts: [k, d], whole: [d] -> [k]."""
    import torch

    near = proximity(parts, whole)
    total = near.sum()
    return near / total if total > 0 else torch.full_like(near, 1 / len(near))


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:

    model.require_lm_head("flow")
    if options["floor"] > options["threshold"]:
        raise AnalysisError(f"floor ({options['floor']}) is above threshold ({options['threshold']}): the page "
                            "can only show edges it was sent", "floor")
    n = len(forward.tokens)
    if not -n <= options["position"] < n:
        raise AnalysisError(f"position {options['position']} is outside the prompt's {n} tokens (0 to {n - 1}, "
                            "or -1 for the last)", "position")
    position = options["position"] % n
    blocks = _blocks(model, forward)
    layers, edges, ffn, residual = [], [], [], []
    for layer, block in enumerate(blocks, 1):
        shares = _layer_shares(block, position)
        layers.append(shares)
        for t in range(position + 1):
            attention = shares["attention"][t]  # [t+1 tokens read, heads]
            for s in range(t + 1):
                share = float(attention[s].sum()) + (float(shares["residual"][t]) if s == t else 0.0)
                if share >= options["floor"]:
                    order = attention[s].argsort(descending=True)[:options["details"]]
                    edges.append([layer, s, t, round(share, 5),
                                  [[int(h), round(float(attention[s, h]), 5)] for h in order],
                                  round(float(shares["residual"][t]), 5) if s == t else None])
        ffn.append([round(float(v), 5) for v in shares["ffn"]])
        residual.append([round(float(v), 5) for v in shares["residual"]])
    output = f"r{len(blocks)}_{position}"
    nodes, kept = routes(edges, ffn, output, options["floor"])
    on_route = {(a, b) for a, b, _ in kept}
    edges = [e for e in edges if (node_below(e[0], e[1]), f"a{e[0]}_{e[2]}") in on_route]
    details, vocab = _details(model, forward, blocks, layers, nodes, position, options["details"])
    at_output = [{
        "attention": round(1 - float(shares["residual"][position]), 5),
        "ffn": round(float(shares["ffn"][position]), 5),
        "reads": _reads(shares["attention"][position], position),
        "heads": [round(float(v), 5) for v in shares["attention"][position].sum(0)],
        "read": [[round(float(v), 5) for v in row] for row in shares["attention"][position]],  # [token, head]
    } for shares in layers]
    predicted = int(forward.logits[position].argmax())
    return {
        "tokens": forward.tokens,
        "input_ids": forward.input_ids,
        "position": position,
        "output": output,
        "predicted": {"id": predicted, "token": model.token_texts([predicted])[0]},
        "threshold": options["threshold"],
        "floor": options["floor"],
        "n_heads": int(forward.attentions.shape[1]),
        "edges": edges,
        "ffn": ffn,
        "residual": residual,
        "nodes": details,
        "vocab": vocab,
        "at_output": at_output,
    }


def _blocks(model: LoadedModel, forward: ForwardPass) -> list[dict[str, Any]]:
    """Per block, the tensors the shares are computed from (float64, CPU), each checked against the residual
    stream the forward pass recorded: the decomposition must add up to what the block wrote."""
    import torch

    config = model.config
    if config.model_type in PARALLEL or getattr(config, "use_parallel_residual", False) or getattr(
            config, "parallel_attn", False):
        raise NotApplicable(f"{model.architecture} runs attention and the MLP side by side on the same input "
                            "(a parallel residual); the routes assume the MLP reads attention's output")
    layers = architecture.decoder_layers(model.model)
    found = [(architecture.attention_values(layer), architecture.attention_output(layer),
              architecture.mlp_output(layer)) for layer in layers]
    if not layers or any(None in parts for parts in found):
        raise NotApplicable(f"cannot find the value, attention output and MLP output projections of "
                            f"{model.architecture}")
    modules = {}
    for i, (value, attention_out, mlp_out) in enumerate(found):
        modules[("v", i)], modules[("o", i)], modules[("m", i)] = value[0], attention_out, mlp_out
    with torch.no_grad(), architecture.capture_outputs(modules) as captured:
        model.model(torch.tensor([forward.input_ids], device=model.device))
    model.forward_count += 1
    low = next(model.model.parameters()).dtype in (torch.bfloat16, torch.float16)
    tolerance = 5e-2 if low else 1e-3
    n_heads = int(forward.attentions.shape[1])
    hidden = forward.hidden_states.double()
    blocks = []
    for i, (value, attention_out, mlp_out) in enumerate(found):
        values_out = unbatched(captured[("v", i)]).double().cpu()
        values_out = values_out[:, -values_out.shape[-1] // value[1]:]  # [pos, kv_heads × d_head]
        w_o = architecture.projection_weight(attention_out).detach().double().cpu()  # [heads × d_head, d_model]
        b_o = _bias(attention_out)
        d_head = w_o.shape[0] // n_heads
        kv_heads = values_out.shape[-1] // d_head
        v = values_out.reshape(-1, kv_heads, d_head).repeat_interleave(n_heads // kv_heads, dim=1)
        # What each head writes for each token it reads, before weighting by attention: [pos, heads, d_model].
        written = torch.einsum("shk,hkd->shd", v, w_o.reshape(n_heads, d_head, -1))
        attn = forward.attentions[i].double()  # [heads, query, key]
        attention_out = unbatched(captured[("o", i)]).double().cpu()
        rebuilt = torch.einsum("hts,shd->td", attn, written) + b_o
        mlp = unbatched(captured[("m", i)]).double().cpu()
        pre, post = hidden[i], hidden[i + 1]
        scale = float(post.abs().max()) + 1.0
        if not (torch.allclose(rebuilt, attention_out, atol=tolerance * scale, rtol=tolerance)
                and torch.allclose(pre + attention_out + mlp, post, atol=tolerance * scale, rtol=tolerance)):
            raise NotApplicable(f"{model.architecture}'s blocks do not add attention (a sum over heads and tokens) "
                                "and then the MLP to the residual stream as this analysis reads them")
        blocks.append({"pre": pre, "mid": pre + attention_out, "post": post, "attn": attn, "written": written,
                       "bias_o": b_o, "mlp_out": mlp_out})
    return blocks


def _bias(module: Any) -> Any:
    bias = getattr(module, "bias", None)
    return bias.detach().double().cpu() if bias is not None else 0.0


def _layer_shares(block: dict[str, Any], position: int) -> dict[str, Any]:
    """One block's shares at positions 0..position: attention[t] [t+1 tokens read, heads] and residual[t] (they
    add up to 1), and ffn[t] (the MLP's share; the residual stream's is 1 − ffn[t])."""
    import torch

    attention, residual, ffn = [], [], []
    heads = block["written"].shape[1]
    for t in range(position + 1):
        parts = block["attn"][:, t, :t + 1].T[..., None] * block["written"][:t + 1]  # [s, heads, d_model]
        incoming = block["pre"][t] + block["bias_o"]
        shares = proximity_shares(torch.cat([parts.reshape(-1, parts.shape[-1]), incoming[None]]), block["mid"][t])
        attention.append(shares[:-1].reshape(t + 1, heads))
        residual.append(shares[-1])
        mlp = block["post"][t] - block["mid"][t]
        ffn.append(proximity_shares(torch.stack([mlp, block["mid"][t]]), block["post"][t])[0])
    return {"attention": attention, "residual": torch.stack(residual), "ffn": torch.stack(ffn)}


def _reads(attention: Any, position: int) -> int | None:
    """The token the position reads most from (its heads' shares added up), itself left out."""
    if position == 0:
        return None
    return int(attention[:position].sum(1).argmax())


def _details(model: LoadedModel, forward: ForwardPass, blocks: list[dict[str, Any]], layers: list[dict[str, Any]],
             nodes: set[str], position: int, count: int) -> tuple[dict[str, Any], list[str]]:
    """For each attention and MLP node on the routes, the `count` heads or neurons with the largest shares and
    the tokens their output promotes and suppresses most; tokens as indices into one list of texts."""
    import torch

    norm = model.final_norm()
    apply, _ = frozen_norm(norm, forward.hidden_states[-1, position])
    heads, head_slots, neurons, neuron_slots, details = [], [], {}, [], {}
    for node in sorted(nodes):
        kind = node[0]
        if kind not in "am":
            continue  # embeddings and block outputs: the token, and the routes through them
        layer, t = map(int, node[1:].split("_"))
        layer -= 1  # node ids count blocks from 1
        block = blocks[layer]
        if kind == "a":
            head_shares = layers[layer]["attention"][t].sum(0)
            entries = []
            for h in head_shares.argsort(descending=True)[:count]:
                heads.append(torch.einsum("s,sd->d", block["attn"][h, t, :t + 1], block["written"][:t + 1, h]))
                entries.append([int(h), round(float(head_shares[h]), 5)])
                head_slots.append(entries[-1])
            details[node] = {"residual": round(float(layers[layer]["residual"][t]), 5), "heads": entries}
        else:
            acts = forward.mlp_activations[layer, t].double()
            if "w_down" not in block:
                block["w_down"] = architecture.projection_weight(block["mlp_out"]).detach().double().cpu()
            w_down = block["w_down"]
            incoming = block["mid"][t] + _bias(block["mlp_out"])
            whole = block["post"][t]
            near = proximity(acts[:, None] * w_down, whole)  # each neuron's output is acts[i] · w_down[i]
            near_in = proximity(incoming[None], whole)[0]
            total = near.sum() + near_in
            entries = []
            for i in near.argsort(descending=True)[:count]:
                # A neuron writes along one fixed direction; its sign flips what it promotes and suppresses.
                key = neurons.setdefault((layer, int(i)), len(neurons))
                entries.append([int(i), round(float(near[i] / total), 5), round(float(acts[i]), 4)])
                neuron_slots.append((entries[-1], key, float(acts[i]) < 0))
            details[node] = {"residual": round(float(near_in / total), 5), "neurons": entries}
    texts: dict[int, int] = {}

    def extremes(vectors: list[Any]) -> tuple[list[list[int]], list[list[int]]]:
        """The most promoted and most suppressed tokens of each vector, read through the frozen final norm and
        the unembedding (float32: only the order of the tokens is kept)."""
        if not vectors:
            return [], []
        unembed = model.model.get_output_embeddings().weight.detach().float().cpu()
        logits = apply(torch.stack(vectors)).float() @ unembed.T  # [vectors, vocab]
        return (logits.topk(VOCAB_TOKENS, dim=-1).indices.tolist(),
                (-logits).topk(VOCAB_TOKENS, dim=-1).indices.tolist())

    def name(ids: list[int]) -> list[int]:
        return [texts.setdefault(i, len(texts)) for i in ids]

    up, down = extremes(heads)
    for entry, promoted, suppressed in zip(head_slots, up, down, strict=True):
        entry += [name(promoted), name(suppressed)]
    directions = [blocks[layer]["w_down"][i] for layer, i in neurons]
    up, down = extremes(directions)
    for entry, key, negative in neuron_slots:
        promoted, suppressed = (down[key], up[key]) if negative else (up[key], down[key])
        entry += [name(promoted), name(suppressed)]
    return details, model.token_texts(list(texts))
