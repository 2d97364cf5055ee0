"""The values prose may name from each analysis's result (`=capital.prob(" Paris")`), as plain functions of
the result's data. Layers count as the figures do: 0 is the embeddings, then one row per block, the last
row being the model's output; -1 is that last row. Values about a block (attention, heads, flow) take its
number on the same scale: block n is the one that makes row n, so blocks count from 1, and -1 is the last.
Heads, positions and prompts count from 0, -1 the last."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..references import NotApplicableHere, ReferenceProblem, TokenText


def _size(key: str, doc: str) -> Callable[[dict[str, Any]], int]:
    def size(data: dict[str, Any]) -> int:
        return int(data["model_shape"][key])

    size.__doc__ = doc
    return size


# Every block, whatever its analysis, can cite the sizes of the model it ran on.
MODEL = {key: _size(key, doc) for key, doc in (
    ("layers", "the model's number of layers (blocks)"),
    ("heads", "attention heads per layer"),
    ("kv_heads", "key/value heads per layer (fewer than heads with grouped-query attention)"),
    ("d_model", "width of the residual stream (numbers per token vector)"),
    ("d_head", "width of one head's queries and keys"),
    ("d_ff", "MLP neurons per layer"),
    ("vocab", "tokens in the vocabulary"),
)}


def _index(value: int, size: int, what: str) -> int:
    if not -size <= value < size:
        raise ReferenceProblem(f"{what} {value} is out of range (0 to {size - 1}, or -1 for the last)")
    return value % size


def _block(value: int, size: int) -> int:
    """A block counted as on the pages (1 to size, or -1 the last) as a 0-based index."""
    if not (1 <= value <= size or -size <= value <= -1):
        raise ReferenceProblem(f"layer {value} is out of range: blocks count 1 to {size} (or -1 for the last; "
                               "layer 0 is the embeddings, which no block is)")
    return value - 1 if value > 0 else value % size


def _candidate(data: dict[str, Any], token: str) -> dict[str, Any]:
    for candidate in data["candidates"]:
        if candidate["text"] == token:
            return candidate
    named = ", ".join(repr(c["text"]) for c in data["candidates"]) or "none"
    raise ReferenceProblem(f"{token!r} is not one of the block's tokens ({named})")


def _first_row_from(flags: list[bool]) -> int:
    """The first row from which every later row is true (len(flags) if the last is not)."""
    row = len(flags)
    while row > 0 and flags[row - 1]:
        row -= 1
    return row


# attention


def attention_sink(data: dict[str, Any], layer: int) -> float:
    """the share of attention that goes to the first token at a layer (block 1 to n; -1 the last): the mean over
    heads and over every token after the first"""
    attn = data["attention"]
    rows = attn[_block(layer, len(attn))]
    shares = [row[0] for head in rows for row in head[1:]]
    if not shares:
        raise ReferenceProblem("the prompt is one token: no token can choose where to look")
    return sum(shares) / len(shares)


ATTENTION = {**MODEL, "sink": attention_sink}


# topk


def topk_top(data: dict[str, Any]) -> str:
    """the most likely next token"""
    return TokenText(data["predictions"][0]["token"])


def topk_top_prob(data: dict[str, Any]) -> float:
    """probability of the most likely next token"""
    return float(data["predictions"][0]["prob"])


def _prediction(data: dict[str, Any], token: str) -> dict[str, Any]:
    for p in data["predictions"]:
        if p["token"] == token:
            return p
    raise ReferenceProblem(f"{token!r} is not among the {len(data['predictions'])} tokens shown (raise k)")


def topk_prob(data: dict[str, Any], token: str) -> float:
    """probability of a token among the k shown"""
    return float(_prediction(data, token)["prob"])


def topk_rank(data: dict[str, Any], token: str) -> int:
    """rank of a token among the k shown (1 = most likely)"""
    return int(_prediction(data, token)["rank"])


def topk_entropy(data: dict[str, Any]) -> float:
    """entropy of the next-token distribution, in nats"""
    return float(data["entropy"])


TOPK = {**MODEL, "top": topk_top, "top_prob": topk_top_prob, "prob": topk_prob, "rank": topk_rank,
        "entropy": topk_entropy}


# compare_tokens and rank_evolution: candidates with ranks and probabilities per layer


def candidate_prob(data: dict[str, Any], token: str, layer: int = -1) -> float:
    """probability of a candidate at a layer (default: the output)"""
    probs = _candidate(data, token)["probs"]
    return float(probs[_index(layer, len(probs), "layer")])


def candidate_rank(data: dict[str, Any], token: str, layer: int = -1) -> int:
    """rank of a candidate at a layer (default: the output; 1 = most likely)"""
    ranks = _candidate(data, token)["ranks"]
    return int(ranks[_index(layer, len(ranks), "layer")])


def candidate_first_from(data: dict[str, Any], token: str) -> int:
    """the layer from which a candidate is ranked first through the output"""
    ranks = _candidate(data, token)["ranks"]
    row = _first_row_from([r == 1 for r in ranks])
    if row == len(ranks):
        raise ReferenceProblem(f"{token!r} is not ranked first at the output (rank {ranks[-1]})")
    return row


def compare_winner(data: dict[str, Any]) -> str:
    """the candidate that ranks best at the output"""
    return TokenText(data["candidates"][data["winner"]]["text"])


def compare_leads_from(data: dict[str, Any]) -> int:
    """the layer from which the winner ranks best of the candidates through the output"""
    return int(data["leads_from_layer"])


COMPARE_TOKENS = {**MODEL, "winner": compare_winner, "leads_from": compare_leads_from, "prob": candidate_prob,
                  "rank": candidate_rank, "first_from": candidate_first_from}


def rank_predicted(data: dict[str, Any], position: int = -1) -> str:
    """the token the model predicts after a position"""
    tokens = data["output_tokens"]
    return TokenText(tokens[_index(position, len(tokens), "position")])


def output_rank(data: dict[str, Any], layer: int = -1, position: int = -1) -> int:
    """rank, at a layer, of the token the model finally predicts after a position"""
    rows = data["output_ranks"]
    row = rows[_index(layer, len(rows), "layer")]
    return int(row[_index(position, len(row), "position")])


def output_first_from(data: dict[str, Any], position: int = -1) -> int:
    """the layer from which the finally predicted token is ranked first through the output"""
    rows = data["output_ranks"]
    at = _index(position, len(rows[0]), "position")
    return _first_row_from([row[at] == 1 for row in rows])


RANK_EVOLUTION = {**MODEL, "prob": candidate_prob, "rank": candidate_rank, "first_from": candidate_first_from,
                  "predicted": rank_predicted, "output_rank": output_rank, "output_first_from": output_first_from}


# logit_lens


def lens_top(data: dict[str, Any], layer: int = -1, position: int = -1) -> str:
    """the top token at a layer and position (default: the output after the last token)"""
    rows = data["top_tokens"]
    row = rows[_index(layer, len(rows), "layer")]
    return TokenText(row[_index(position, len(row), "position")][0])


def lens_top_prob(data: dict[str, Any], layer: int = -1, position: int = -1) -> float:
    """probability of the top token at a layer and position"""
    rows = data["top_probs"]
    row = rows[_index(layer, len(rows), "layer")]
    return float(row[_index(position, len(row), "position")][0])


def lens_top_from(data: dict[str, Any], token: str, position: int = -1) -> int:
    """the layer from which a token is the top token at a position through the output"""
    rows = data["top_tokens"]
    at = _index(position, len(rows[0]), "position")
    flags = [row[at][0] == token for row in rows]
    row = _first_row_from(flags)
    if row == len(rows):
        raise ReferenceProblem(f"{token!r} is not the top token at the output (that is {rows[-1][at][0]!r})")
    return row


LOGIT_LENS = {**MODEL, "top": lens_top, "top_prob": lens_top_prob, "top_from": lens_top_from}


# compare_prompts


def _prompt_row(data: dict[str, Any], prompt: int) -> dict[str, Any]:
    return data["prompts"][_index(prompt, len(data["prompts"]), "prompt")]


def _candidate_column(data: dict[str, Any], token: str) -> int:
    return data["candidates"].index(_candidate(data, token))


def prompts_prob(data: dict[str, Any], prompt: int, token: str, layer: int = -1) -> float:
    """probability of a candidate after prompt number `prompt` (0 is the first), at a layer"""
    probs = _prompt_row(data, prompt)["probs"][_candidate_column(data, token)]
    return float(probs[_index(layer, len(probs), "layer")])


def prompts_rank(data: dict[str, Any], prompt: int, token: str, layer: int = -1) -> int:
    """rank of a candidate after prompt number `prompt`, at a layer (1 = most likely)"""
    ranks = _prompt_row(data, prompt)["ranks"][_candidate_column(data, token)]
    return int(ranks[_index(layer, len(ranks), "layer")])


def prompts_ratio(data: dict[str, Any], prompt: int, layer: int = -1) -> float:
    """ln(p_a / p_b) of the block's ratio after a prompt, at a layer"""
    ratios = _prompt_row(data, prompt)["log_ratio"]
    if ratios is None:
        raise ReferenceProblem("the block has no ratio option")
    return float(ratios[_index(layer, len(ratios), "layer")])


COMPARE_PROMPTS = {**MODEL, "prob": prompts_prob, "rank": prompts_rank, "ratio": prompts_ratio}


# neurons


def neurons_token(data: dict[str, Any]) -> str:
    """the output token whose logit the contributions explain"""
    contributions = data.get("contributions")
    if not contributions:
        raise NotApplicableHere("this block explains no output token (the model is an encoder)")
    return TokenText(contributions["token"])


NEURONS = {**MODEL, "token": neurons_token}


# generate


def generated_text(data: dict[str, Any]) -> str:
    """the generated text"""
    return str(data["text"])


def generated_token(data: dict[str, Any], step: int) -> str:
    """the token generated at a step (0 is the first)"""
    return TokenText(data["steps"][_index(step, len(data["steps"]), "step")]["token"])


def generated_prob(data: dict[str, Any], step: int) -> float:
    """probability of the token generated at a step in the distribution it came from (after the temperature
    when sampling), as the figure shows it"""
    return float(data["steps"][_index(step, len(data["steps"]), "step")]["prob"])


GENERATE = {**MODEL, "text": generated_text, "token": generated_token, "prob": generated_prob}


# attribution: scores of the prompt's tokens, per method


def _attribution_row(data: dict[str, Any], method: str) -> dict[str, Any]:
    for row in data["methods"]:
        if row["name"] == method:
            return row
    raise ReferenceProblem(f"this block has no method {method!r} (it has: "
                           f"{', '.join(r['name'] for r in data['methods'])})")


def attribution_top(data: dict[str, Any], method: str) -> str:
    """the prompt token a method scores highest"""
    return TokenText(_attribution_row(data, method)["top"])


def attribution_score(data: dict[str, Any], method: str, token: str) -> float:
    """a method's score of a prompt token (its first occurrence)"""
    row = _attribution_row(data, method)
    if token not in data["tokens"]:
        raise ReferenceProblem(f"{token!r} is not a token of the prompt (tokens: "
                               f"{', '.join(map(repr, data['tokens']))})")
    return float(row["scores"][data["tokens"].index(token)])


def attribution_target(data: dict[str, Any]) -> str:
    """the next token the attributions explain"""
    return TokenText(data["target"]["token"])


def attribution_agree(data: dict[str, Any]) -> str:
    """'yes' if every signed method puts the same prompt token first, 'no' otherwise"""
    tops = {row["top"] for row in data["methods"] if row["name"] != "saliency"}
    return "yes" if len(tops) <= 1 else "no"


ATTRIBUTION = {**MODEL, "top": attribution_top, "score": attribution_score, "target": attribution_target,
               "agree": attribution_agree}


# ablation: variants of a prompt


def _ablation_row(data: dict[str, Any], variant: int) -> dict[str, Any]:
    return data["rows"][_index(variant, len(data["rows"]), "variant")]


def ablation_most(data: dict[str, Any]) -> str:
    """the variant that moves the next-token distribution most (largest KL divergence from the base prompt)"""
    if len(data["order"]) < 2:
        raise ReferenceProblem("this block has no variants")
    return str(data["rows"][data["order"][1]]["text"])


def ablation_prob(data: dict[str, Any], token: str, variant: int = 0) -> float:
    """probability of a followed token after a variant (0: the base prompt; 1, 2...: the variants as made, e.g.
    for drop_word 1 is the prompt without its first word)"""
    row = _ablation_row(data, variant)
    for target in row["targets"]:
        if target["token"] == token:
            return float(target["prob"])
    raise ReferenceProblem(f"{token!r} is not one of the block's tokens ({', '.join(map(repr, data['tokens']))})")


def ablation_kl(data: dict[str, Any], variant: int) -> float:
    """KL divergence of a variant's next-token distribution from the base prompt's (nats; variants numbered as
    for prob)"""
    return float(_ablation_row(data, variant)["kl"])


ABLATION = {**MODEL, "most": ablation_most, "prob": ablation_prob, "kl": ablation_kl}


# heads: direct logit attribution per attention head


def heads_top(data: dict[str, Any]) -> str:
    """the head with the largest direct contribution (either sign), as 'layer L, head H'"""
    return f"layer {data['top']['layer']}, head {data['top']['head']}"


def heads_contribution(data: dict[str, Any], layer: int, head: int) -> float:
    """a head's direct contribution to the logit (or logit difference) at a layer (block 1 to n) and head (from
    0); -1 is the last of either"""
    row = data["contributions"][_block(layer, len(data["contributions"]))]
    return float(row[_index(head, len(row), "head")])


def heads_share(data: dict[str, Any]) -> float:
    """the heads' summed direct contribution as a share of the logit (or logit difference)"""
    return float(data["heads_total"] / data["logit"]) if data["logit"] else float("nan")


def heads_top_value(data: dict[str, Any]) -> float:
    """the strongest head's direct contribution"""
    return float(data["top"]["value"])


HEADS = {**MODEL, "top": heads_top, "top_value": heads_top_value, "contribution": heads_contribution,
         "share": heads_share}


# flow: information-flow routes


def _flow_routes(data: dict[str, Any], threshold: float | None) -> tuple[set[str], list[Any]]:
    from .flow import routes

    threshold = data["threshold"] if threshold is None else float(threshold)
    if threshold < data["floor"]:
        raise ReferenceProblem(f"threshold {threshold} is below the block's floor {data['floor']} (edges below the "
                               "floor were not kept)")
    return routes(data["edges"], data["ffn"], data["output"], threshold)


def _flow_layer(data: dict[str, Any], layer: int) -> dict[str, Any]:
    return data["at_output"][_block(layer, len(data["at_output"]))]


def flow_threshold(data: dict[str, Any]) -> float:
    """the block's threshold: an edge stays on a route if its share is above it"""
    return float(data["threshold"])


def flow_nodes(data: dict[str, Any], threshold: float | None = None) -> int:
    """nodes on the routes at a threshold (default: the block's): token embeddings, the residual stream after
    each attention block and after each block, and MLPs"""
    return len(_flow_routes(data, threshold)[0])


def flow_reaches(data: dict[str, Any], token: str, threshold: float | None = None) -> str:
    """"yes" if a route at the threshold (default: the block's) reaches the embedding of that prompt token (any
    occurrence), else "no\""""
    if token not in data["tokens"]:
        raise ReferenceProblem(f"{token!r} is not a token of the prompt ({', '.join(map(repr, data['tokens']))})")
    nodes = _flow_routes(data, threshold)[0]
    return "yes" if any(f"x{i}" in nodes for i, t in enumerate(data["tokens"]) if t == token) else "no"


def flow_attention(data: dict[str, Any], layer: int) -> float:
    """at the output position, the attention block's share (all heads, all tokens read) of the residual stream
    after it at a layer (block 1 to n; -1 the last)"""
    return float(_flow_layer(data, layer)["attention"])


def flow_ffn(data: dict[str, Any], layer: int) -> float:
    """at the output position, the MLP's share of the residual stream after it at a layer (block 1 to n)"""
    return float(_flow_layer(data, layer)["ffn"])


def flow_reads(data: dict[str, Any], layer: int) -> str:
    """the prompt token the output position reads most from at a layer (heads' shares added up; itself left
    out)"""
    reads = _flow_layer(data, layer)["reads"]
    if reads is None:
        raise ReferenceProblem("the output position is the first token: it reads no other")
    return TokenText(data["tokens"][reads])


def flow_reads_head(data: dict[str, Any], layer: int, token: str) -> str:
    """the head through which the output position reads a prompt token most at a layer (block 1 to n), as
    'layer L, head H' (the token's last occurrence up to the position)"""
    row = _flow_layer(data, layer)
    found = [i for i, t in enumerate(data["tokens"][:data["position"] + 1]) if t == token]
    if not found:
        raise ReferenceProblem(f"{token!r} is not a token of the prompt up to the output position")
    shares = row["read"][found[-1]]
    head = max(range(len(shares)), key=lambda h: shares[h])
    return f"layer {_block(layer, len(data['at_output'])) + 1}, head {head}"


def flow_top_head(data: dict[str, Any]) -> str:
    """the head with the largest share at the output position, over all layers, as 'layer L, head H'"""
    _, layer, head = max((share, layer, head) for layer, row in enumerate(data["at_output"], 1)
                         for head, share in enumerate(row["heads"]))
    return f"layer {layer}, head {head}"


FLOW = {**MODEL, "threshold": flow_threshold, "nodes": flow_nodes, "reaches": flow_reaches,
        "attention": flow_attention, "ffn": flow_ffn, "reads": flow_reads, "reads_head": flow_reads_head,
        "top_head": flow_top_head}
