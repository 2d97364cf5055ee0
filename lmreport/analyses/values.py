"""The values prose may name from each analysis's result (`=capital.prob(" Paris")`), as plain functions of
the result's data. A problem that comes from the model (a layer it does not have, a token outside the k shown,
a token never ranked first) is NotApplicableHere: the reference shows "n/a" and the build warns (an error with
--strict), so a course written for one model still builds for another.

Layers count as the figures do: 0 is the embeddings, then one row per block, the last row being the model's
output; -1 is that last row. Values about a block (attention, heads, flow) take its number on the same scale:
block n is the one that makes row n, so blocks count from 1, and -1 is the last. Heads, positions and prompts
count from 0, -1 the last."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..references import NotApplicableHere, ReferenceProblem, TokenText
from .common import block_index


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
        raise NotApplicableHere(f"{what} {value} is out of range (0 to {size - 1}, or -1 for the last)")
    return value % size


def _block(value: int, size: int) -> int:
    """A block counted as on the pages (1 to size, or -1 the last) as a 0-based index."""
    index = block_index(value, size)
    if index is None:
        raise NotApplicableHere(f"layer {value} is out of range: blocks count 1 to {size} (or -1 for the last; "
                                "layer 0 is the embeddings, which no block is)")
    return index


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
        raise NotApplicableHere("the prompt is one token: no token can choose where to look")
    return sum(shares) / len(shares)


PATTERNS = ("first", "previous", "induction")


def pattern_pairs(tokens: list[str], pattern: str) -> list[tuple[int, int]]:
    """(query, key) pairs a pattern looks at: every later token's attention to the first token, or to the one
    before it, or (induction, "copying") to the token that followed the query token's previous occurrence."""
    if pattern == "first":
        return [(t, 0) for t in range(1, len(tokens))]
    if pattern == "previous":
        return [(t, t - 1) for t in range(1, len(tokens))]
    if pattern == "induction":
        pairs = []
        for t in range(len(tokens)):
            earlier = [s for s in range(t - 1) if tokens[s] == tokens[t]]
            if earlier:
                pairs.append((t, earlier[-1] + 1))
        return pairs
    raise ReferenceProblem(f"unknown pattern {pattern!r} (valid: {', '.join(PATTERNS)})")


def no_place(pattern: str) -> str:
    """Why a prompt has no (query, key) pair for a pattern."""
    return (f"the prompt has no place for the {pattern} pattern"
            + (" (no token occurs twice)" if pattern == "induction" else " (one token)"))


def _pairs(data: dict[str, Any], pattern: str) -> list[tuple[int, int]]:
    pairs = pattern_pairs(data["tokens"], pattern)
    if not pairs:
        raise NotApplicableHere(no_place(pattern))
    return pairs


def _pattern_score(data: dict[str, Any], pairs: list[tuple[int, int]], layer_index: int, head: int) -> float:
    weights = data["attention"][layer_index][head]
    return sum(weights[q][k] for q, k in pairs) / len(pairs)


def attention_pattern(data: dict[str, Any], pattern: str, layer: int, head: int) -> float:
    """how much one head (layer 1 to n, head from 0) follows a pattern: its mean attention from every token to
    the first token ("first"), to the token before it ("previous"), or, for a token seen before, to the token
    that followed its previous occurrence ("induction", the copying pattern)"""
    layer_index = _block(layer, len(data["attention"]))
    heads = data["attention"][layer_index]
    return _pattern_score(data, _pairs(data, pattern), layer_index, _index(head, len(heads), "head"))


def strongest_head(data: dict[str, Any], pattern: str) -> tuple[float, int, int]:
    """(score, 0-based layer index, head) of the head that follows a pattern most"""
    pairs = _pairs(data, pattern)
    return max((_pattern_score(data, pairs, layer, head), layer, head)
               for layer in range(len(data["attention"])) for head in range(len(data["attention"][layer])))


def attention_strongest(data: dict[str, Any], pattern: str) -> str:
    """the head that follows a pattern ("first", "previous", "induction") most, as 'layer L, head H'"""
    _, layer, head = strongest_head(data, pattern)
    return f"layer {layer + 1}, head {head}"


def attention_strongest_value(data: dict[str, Any], pattern: str) -> float:
    """how much the head that follows a pattern most follows it (its mean attention, as pattern())"""
    return strongest_head(data, pattern)[0]


ATTENTION = {**MODEL, "sink": attention_sink, "pattern": attention_pattern, "strongest": attention_strongest,
             "strongest_value": attention_strongest_value}


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
    raise NotApplicableHere(f"{token!r} is not among the {len(data['predictions'])} tokens shown (raise k)")


def topk_prob(data: dict[str, Any], token: str) -> float:
    """probability of a token among the k shown"""
    return float(_prediction(data, token)["prob"])


def topk_rank(data: dict[str, Any], token: str) -> int:
    """rank of a token among the k shown (1 = most likely)"""
    return int(_prediction(data, token)["rank"])


def topk_entropy(data: dict[str, Any]) -> float:
    """entropy of the next-token distribution (at the block's temperature), in nats"""
    return float(data["entropy"])


def topk_temperature(data: dict[str, Any]) -> float:
    """the temperature the logits were divided by before the softmax (1: the model's own distribution)"""
    return float(data.get("temperature", 1.0))


def topk_logit(data: dict[str, Any], token: str) -> float:
    """logit of a token among the k shown (before any temperature)"""
    return float(_prediction(data, token)["logit"])


def topk_mass(data: dict[str, Any], k: int = 0) -> float:
    """total probability of the k most likely tokens (0, the default: all those shown)"""
    shown = data["predictions"]
    k = k or len(shown)
    if not 1 <= k <= len(shown):
        raise ReferenceProblem(f"k {k} is out of range: the block shows {len(shown)} tokens (raise its k)")
    return float(sum(p["prob"] for p in shown[:k]))


def prompt_tokens(data: dict[str, Any]) -> int:
    """how many tokens the prompt is"""
    return len(data["tokens"])


def prompt_token(data: dict[str, Any], position: int) -> str:
    """the prompt's token at a position (from 0; -1 the last)"""
    return TokenText(data["tokens"][_index(position, len(data["tokens"]), "position")])


PROMPT_TOKENS = {"n_tokens": prompt_tokens, "token": prompt_token}
TOPK = {**MODEL, **PROMPT_TOKENS, "top": topk_top, "top_prob": topk_top_prob, "prob": topk_prob,
        "rank": topk_rank, "logit": topk_logit, "mass": topk_mass, "entropy": topk_entropy,
        "temperature": topk_temperature}


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
        raise NotApplicableHere(f"{token!r} is not ranked first at the output (rank {ranks[-1]})")
    return row


def candidate_enters(data: dict[str, Any], token: str, k: int) -> int:
    """the layer from which a candidate stays among the k best-ranked tokens through the output"""
    ranks = _candidate(data, token)["ranks"]
    row = _first_row_from([r <= k for r in ranks])
    if row == len(ranks):
        raise NotApplicableHere(f"{token!r} is not among the top {k} at the output (rank {ranks[-1]})")
    return row


def compare_winner(data: dict[str, Any]) -> str:
    """the candidate that ranks best at the output"""
    return TokenText(data["candidates"][data["winner"]]["text"])


def compare_leads_from(data: dict[str, Any]) -> int:
    """the layer from which the winner ranks best of the candidates through the output"""
    return int(data["leads_from_layer"])


COMPARE_TOKENS = {**MODEL, "winner": compare_winner, "leads_from": compare_leads_from, "enters": candidate_enters,
                  "prob": candidate_prob,
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


def output_enters(data: dict[str, Any], k: int, position: int = -1) -> int:
    """the layer from which the finally predicted token stays among the k best-ranked tokens through the output"""
    rows = data["output_ranks"]
    at = _index(position, len(rows[0]), "position")
    return _first_row_from([row[at] <= k for row in rows])


RANK_EVOLUTION = {**MODEL, "enters": candidate_enters, "output_enters": output_enters,
                  "prob": candidate_prob, "rank": candidate_rank, "first_from": candidate_first_from,
                  "predicted": rank_predicted, "output_rank": output_rank, "output_first_from": output_first_from}


# logit_lens


def lens_gain_changes(data: dict[str, Any]) -> int:
    """how many cells (layer × position) have another top token when the final norm's learned gain (and bias)
    is left out and the vector only normalised"""
    if data.get("gain_changed") is None:
        raise NotApplicableHere("the final norm is of no known form (RMS or LayerNorm): the gain is not separated")
    return len(data["gain_changed"])


def lens_cells(data: dict[str, Any]) -> int:
    """how many cells the lens has: rows (the embeddings, after each block) × positions"""
    return len(data["top_ids"]) * len(data["tokens"])


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
        raise NotApplicableHere(f"{token!r} is not the top token at the output (that is {rows[-1][at][0]!r})")
    return row


LOGIT_LENS = {**MODEL, "top": lens_top, "top_prob": lens_top_prob, "top_from": lens_top_from,
              "gain_changes": lens_gain_changes, "cells": lens_cells}


# hidden_states: the residual stream row by row (0 the embeddings, n after block n)


def _cell(rows: list[list[float]], layer: int, position: int) -> float:
    row = rows[_index(layer, len(rows), "layer")]
    return float(row[_index(position, len(row), "position")])


def hidden_norm(data: dict[str, Any], layer: int = -1, position: int = -1) -> float:
    """length (L2 norm) of a token's residual-stream vector at a layer"""
    return _cell(data["norms"], layer, position)


def hidden_cos_last(data: dict[str, Any], layer: int, position: int = -1) -> float:
    """cosine similarity of a token's vector at a layer to its vector at the last row"""
    return _cell(data["cos_last"], layer, position)


def hidden_cos_next(data: dict[str, Any], layer: int, position: int = -1) -> float:
    """cosine similarity of a token's vector at a layer to its vector one layer up"""
    return _cell(data["cos_next"], layer, position)


def hidden_min_cos_next(data: dict[str, Any], position: int = -1, start: int = 0) -> float:
    """the smallest cosine similarity between neighbouring layers for a token, over its layers from `start`
    (0: from the embeddings) to the last pair"""
    layers = range(_index(start, len(data["cos_next"]), "layer"), len(data["cos_next"]))
    return min(hidden_cos_next(data, layer, position) for layer in layers)


def hidden_first_ratio(data: dict[str, Any], layer: int = -1) -> float:
    """the first token's vector length over the mean length of the others' at a layer"""
    row = data["norms"][_index(layer, len(data["norms"]), "layer")]
    if len(row) < 2:
        raise NotApplicableHere("the prompt is one token: there is no other to compare with")
    return float(row[0] / (sum(row[1:]) / (len(row) - 1)))


def _first_ratios(data: dict[str, Any]) -> list[float]:
    return [hidden_first_ratio(data, layer) for layer in range(len(data["norms"]))]


def hidden_max_first_ratio(data: dict[str, Any]) -> float:
    """the largest first_ratio over all layers"""
    return max(_first_ratios(data))


def hidden_max_first_ratio_layer(data: dict[str, Any]) -> int:
    """the layer where the first token is largest next to the others (0: the embeddings)"""
    ratios = _first_ratios(data)
    return ratios.index(max(ratios))


HIDDEN_STATES = {**MODEL, **PROMPT_TOKENS, "norm": hidden_norm, "cos_last": hidden_cos_last,
                 "cos_next": hidden_cos_next, "min_cos_next": hidden_min_cos_next, "first_ratio": hidden_first_ratio,
                 "max_first_ratio": hidden_max_first_ratio, "max_first_ratio_layer": hidden_max_first_ratio_layer}


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


def prompts_mass(data: dict[str, Any], prompt: int, layer: int = -1) -> float:
    """total probability of all the block's candidates after a prompt, at a layer"""
    return sum(prompts_prob(data, prompt, c["text"], layer) for c in data["candidates"])


def _ratios(data: dict[str, Any], layer: int) -> list[float]:
    return [prompts_ratio(data, i, layer) for i in range(len(data["prompts"]))]


def prompts_max_ratio(data: dict[str, Any], layer: int = -1) -> float:
    """the largest ln(p_a / p_b) over the block's prompts, at a layer"""
    return max(_ratios(data, layer))


def prompts_min_ratio(data: dict[str, Any], layer: int = -1) -> float:
    """the smallest ln(p_a / p_b) over the block's prompts, at a layer"""
    return min(_ratios(data, layer))


def prompts_most(data: dict[str, Any], layer: int = -1) -> str:
    """the prompt with the largest ln(p_a / p_b), at a layer"""
    ratios = _ratios(data, layer)
    return str(data["prompts"][max(range(len(ratios)), key=lambda i: ratios[i])]["prompt"])


def prompts_least(data: dict[str, Any], layer: int = -1) -> str:
    """the prompt with the smallest ln(p_a / p_b), at a layer"""
    ratios = _ratios(data, layer)
    return str(data["prompts"][min(range(len(ratios)), key=lambda i: ratios[i])]["prompt"])


COMPARE_PROMPTS = {**MODEL, "prob": prompts_prob, "rank": prompts_rank, "ratio": prompts_ratio,
                   "mass": prompts_mass, "max_ratio": prompts_max_ratio, "min_ratio": prompts_min_ratio,
                   "most": prompts_most, "least": prompts_least}


# neurons


def neurons_lowest(data: dict[str, Any]) -> float:
    """the lowest neuron value anywhere (every layer, token and neuron)"""
    return float(data["lowest"])


def neurons_highest(data: dict[str, Any]) -> float:
    """the highest neuron value anywhere"""
    return float(data["highest"])


def _contributor(data: dict[str, Any], rank: int) -> dict[str, Any]:
    if not data["contributions"]:
        raise NotApplicableHere("the model predicts no token: there are no contributions")
    raising = [n for n in data["contributions"]["neurons"] if n["contribution"] > 0]
    if not 1 <= rank <= len(raising):
        raise NotApplicableHere(f"rank {rank} is out of range: the block lists {len(raising)} neurons that raise the "
                               "logit (raise its contributors)")
    return raising[rank - 1]


def neurons_contributor(data: dict[str, Any], rank: int = 1) -> str:
    """the neuron that raises the output token's logit most directly (rank 1) or the rank-th most, as
    'layer L, neuron N' (blocks from 1)"""
    n = _contributor(data, rank)
    return f"layer {n['layer']}, neuron {n['neuron']}"


def neurons_contributor_layer(data: dict[str, Any], rank: int = 1) -> int:
    """the layer (block, from 1) of that neuron"""
    return int(_contributor(data, rank)["layer"])


def neurons_contribution(data: dict[str, Any], rank: int = 1) -> float:
    """that neuron's direct contribution to the logit"""
    return float(_contributor(data, rank)["contribution"])


def neurons_factor_layer(data: dict[str, Any], factor: int) -> int:
    """the layer (block, from 1) where an NMF factor (from 1, as the figure numbers them) is strongest"""
    shares = data["factors"]["layer_share"]
    if not 1 <= factor <= len(shares):
        raise ReferenceProblem(f"factor {factor} is out of range: the block has factors 1 to {len(shares)}")
    row = shares[factor - 1]
    return max(range(len(row)), key=lambda i: row[i]) + 1


def neurons_token(data: dict[str, Any]) -> str:
    """the output token whose logit the contributions explain"""
    contributions = data.get("contributions")
    if not contributions:
        raise NotApplicableHere("this block explains no output token (the model is an encoder)")
    return TokenText(contributions["token"])


NEURONS = {**MODEL, "token": neurons_token, "lowest": neurons_lowest, "highest": neurons_highest,
           "contributor": neurons_contributor, "contribution": neurons_contribution,
           "contributor_layer": neurons_contributor_layer,
           "factor_layer": neurons_factor_layer}


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


def generated_prob_t1(data: dict[str, Any], step: int) -> float:
    """probability of the token generated at a step at temperature 1 (the model's own softmax)"""
    return float(data["steps"][_index(step, len(data["steps"]), "step")]["prob_t1"])


def generated_rank(data: dict[str, Any], step: int) -> int:
    """rank of the token generated at a step in its distribution (1: the most likely)"""
    return int(data["steps"][_index(step, len(data["steps"]), "step")]["rank"])


def generated_off_top(data: dict[str, Any]) -> int:
    """how many steps chose a token that was not the most likely one"""
    return sum(1 for step in data["steps"] if step["rank"] > 1)


def generated_temperature(data: dict[str, Any]) -> float:
    """the temperature of the distribution the tokens came from (1 when greedy)"""
    return float(data["temperature"])


def generated_steps(data: dict[str, Any]) -> int:
    """how many tokens were generated"""
    return len(data["steps"])


GENERATE = {**MODEL, "text": generated_text, "token": generated_token, "prob": generated_prob,
            "prob_t1": generated_prob_t1, "rank": generated_rank, "off_top": generated_off_top,
            "steps": generated_steps, "temperature": generated_temperature}


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
        raise NotApplicableHere(f"{token!r} is not a token of the prompt (tokens: "
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
    return float(_ablation_target(data, token, variant)["prob"])


def _ablation_target(data: dict[str, Any], token: str, variant: int) -> dict[str, Any]:
    for target in _ablation_row(data, variant)["targets"]:
        if target["token"] == token:
            return target
    raise ReferenceProblem(f"{token!r} is not one of the block's tokens ({', '.join(map(repr, data['tokens']))})")


def ablation_kl(data: dict[str, Any], variant: int) -> float:
    """KL divergence of a variant's next-token distribution from the base prompt's (nats; variants numbered as
    for prob)"""
    return float(_ablation_row(data, variant)["kl"])


def ablation_least(data: dict[str, Any]) -> str:
    """the variant that moves the next-token distribution least (smallest KL divergence from the base prompt)"""
    if len(data["order"]) < 2:
        raise ReferenceProblem("this block has no variants")
    return str(data["rows"][data["order"][-1]]["text"])


def ablation_top(data: dict[str, Any], variant: int = 0) -> str:
    """the most likely next token after a variant (0: the base prompt)"""
    return TokenText(_ablation_row(data, variant)["top"][0]["token"])


def ablation_rank(data: dict[str, Any], token: str, variant: int = 0) -> int:
    """rank of a followed token after a variant (1: the most likely)"""
    return int(_ablation_target(data, token, variant)["rank"])


ABLATION = {**MODEL, "most": ablation_most, "least": ablation_least, "prob": ablation_prob, "rank": ablation_rank,
            "kl": ablation_kl, "top": ablation_top}


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
        raise NotApplicableHere(f"{token!r} is not a token of the prompt ({', '.join(map(repr, data['tokens']))})")
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
        raise NotApplicableHere("the output position is the first token: it reads no other")
    return TokenText(data["tokens"][reads])


def flow_reads_head(data: dict[str, Any], layer: int, token: str) -> str:
    """the head through which the output position reads a prompt token most at a layer (block 1 to n), as
    'layer L, head H' (the token's last occurrence up to the position)"""
    row = _flow_layer(data, layer)
    found = [i for i, t in enumerate(data["tokens"][:data["position"] + 1]) if t == token]
    if not found:
        raise NotApplicableHere(f"{token!r} is not a token of the prompt up to the output position")
    shares = row["read"][found[-1]]
    head = max(range(len(shares)), key=lambda h: shares[h])
    return f"layer {_block(layer, len(data['at_output'])) + 1}, head {head}"


def flow_top_head_reads(data: dict[str, Any]) -> str:
    """the prompt token that the head with the largest share at the output position (top_head) reads most,
    itself left out"""
    if data["position"] == 0:
        raise NotApplicableHere("the output position is the first token: it reads no other")
    layer, head = _flow_top(data)
    read = data["at_output"][layer]["read"]
    source = max(range(data["position"]), key=lambda s: read[s][head])
    return TokenText(data["tokens"][source])


def _flow_top(data: dict[str, Any]) -> tuple[int, int]:
    """(0-based layer index, head) of the head with the largest share at the output position"""
    _, layer, head = max((share, layer, head) for layer, row in enumerate(data["at_output"])
                         for head, share in enumerate(row["heads"]))
    return layer, head


def flow_top_head(data: dict[str, Any]) -> str:
    """the head with the largest share at the output position, over all layers, as 'layer L, head H'"""
    layer, head = _flow_top(data)
    return f"layer {layer + 1}, head {head}"


FLOW = {**MODEL, "threshold": flow_threshold, "nodes": flow_nodes, "reaches": flow_reaches,
        "attention": flow_attention, "ffn": flow_ffn, "reads": flow_reads, "reads_head": flow_reads_head,
        "top_head": flow_top_head, "top_head_reads": flow_top_head_reads}
