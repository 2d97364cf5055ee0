"""What prose may cite from a compare_tokens result (`=id.value`), as plain functions of its data."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.citing import candidate_enters, candidate_first_from, candidate_prob, candidate_rank
from lmreport.glue.sizes import MODEL
from lmreport.glue.types import TokenText


def compare_winner(data: dict[str, Any]) -> str:
    """the candidate that ranks best at the output"""
    return TokenText(data["candidates"][data["winner"]]["text"])


def compare_leads_from(data: dict[str, Any]) -> int:
    """the layer from which the winner ranks best of the candidates through the output"""
    return int(data["leads_from_layer"])


VALUES = {**MODEL, "winner": compare_winner, "leads_from": compare_leads_from, "enters": candidate_enters,
                  "prob": candidate_prob,
                  "rank": candidate_rank, "first_from": candidate_first_from}
