"""The shape of a generate result (see analyses/schema.py)."""

from __future__ import annotations

from typing import Any

from pydantic import with_config

from lmreport.analyses.attention.schema import AttentionData, consistent_attention
from lmreport.analyses.schema import STRICT, Computed, Token, within


class Alternative(Token):
    prob: float


class Step(Token):
    prob: float
    prob_t1: float
    rank: int
    alternatives: list[Alternative]


@with_config(STRICT)
class GenerateResult(Computed):
    tokens: list[str]
    input_ids: list[int]
    steps: list[Step]
    text: str
    temperature: float
    attention: AttentionData | None
    distribution: str


SLACK = 1e-6  # probabilities are computed in float64 and rounded in none of these fields


def consistent(data: dict[str, Any]) -> list[str]:
    """Token ids are the model's; each step's probabilities are probabilities, its alternatives in falling order,
    and the chosen token's rank agrees with them; attention, when drawn, covers the prompt and the new tokens."""
    vocab, n = data["model_shape"]["vocab"], len(data["tokens"])
    problems = [] if len(data["input_ids"]) == n else [f"{len(data['input_ids'])} input ids for {n} tokens"]
    problems += within("a token id", data["input_ids"] + [s["id"] for s in data["steps"]]
                       + [a["id"] for s in data["steps"] for a in s["alternatives"]], 0, vocab - 1)
    if not 0 < data["temperature"] <= 10:
        problems.append(f"temperature {data['temperature']} is not a temperature")
    for i, step in enumerate(data["steps"]):
        probs = [step["prob"], step["prob_t1"]] + [a["prob"] for a in step["alternatives"]]
        if any(not -SLACK <= p <= 1 + SLACK for p in probs):
            problems.append(f"step {i}: a probability outside 0..1")
        alternatives = [a["prob"] for a in step["alternatives"]]
        if alternatives != sorted(alternatives, reverse=True) or sum(alternatives) > 1 + SLACK:
            problems.append(f"step {i}: the alternatives are not in falling order of probabilities adding up to "
                            f"at most 1")
        if step["rank"] < 1 or (step["rank"] == 1 and alternatives and step["prob"] < alternatives[0] - SLACK):
            problems.append(f"step {i}: rank {step['rank']} disagrees with the probabilities")
    attention = data["attention"]
    if attention is not None:
        problems += consistent_attention(attention, data["model_shape"])
        if len(attention["tokens"]) != n + len(data["steps"]):
            problems.append(f"attention covers {len(attention['tokens'])} tokens, not the prompt's {n} and "
                            f"{len(data['steps'])} new ones")
    return problems
