"""What prose may cite from a generate result (`=id.value`), as plain functions of its data."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.citing import checked_index
from lmreport.glue.sizes import MODEL
from lmreport.glue.types import TokenText


def generated_text(data: dict[str, Any]) -> str:
    """the generated text"""
    return str(data["text"])


def generated_token(data: dict[str, Any], step: int) -> str:
    """the token generated at a step (0 is the first)"""
    return TokenText(data["steps"][checked_index(step, len(data["steps"]), "step")]["token"])


def generated_prob(data: dict[str, Any], step: int) -> float:
    """probability of the token generated at a step in the distribution it came from (after the temperature
    when sampling), as the figure shows it"""
    return float(data["steps"][checked_index(step, len(data["steps"]), "step")]["prob"])


def generated_prob_t1(data: dict[str, Any], step: int) -> float:
    """probability of the token generated at a step at temperature 1 (the model's own softmax)"""
    return float(data["steps"][checked_index(step, len(data["steps"]), "step")]["prob_t1"])


def generated_rank(data: dict[str, Any], step: int) -> int:
    """rank of the token generated at a step in its distribution (1: the most likely)"""
    return int(data["steps"][checked_index(step, len(data["steps"]), "step")]["rank"])


def generated_off_top(data: dict[str, Any]) -> int:
    """how many steps chose a token that was not the most likely one"""
    return sum(1 for step in data["steps"] if step["rank"] > 1)


def generated_temperature(data: dict[str, Any]) -> float:
    """the temperature of the distribution the tokens came from (1 when greedy)"""
    return float(data["temperature"])


def generated_steps(data: dict[str, Any]) -> int:
    """how many tokens were generated"""
    return len(data["steps"])


VALUES = {**MODEL, "text": generated_text, "token": generated_token, "prob": generated_prob,
            "prob_t1": generated_prob_t1, "rank": generated_rank, "off_top": generated_off_top,
            "steps": generated_steps, "temperature": generated_temperature}
