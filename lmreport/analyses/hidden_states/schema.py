"""The shape of a hidden_states result (see analyses/schema.py)."""

from __future__ import annotations

from pydantic import with_config
from typing_extensions import TypedDict

from lmreport.analyses.schema import STRICT, Computed


class Projection(TypedDict):
    first_position: int
    points: list[list[list[float]]]  # [layer][position - first][2]
    explained_variance_ratio: list[float]


@with_config(STRICT)
class HiddenStatesResult(Computed):
    tokens: list[str]
    input_ids: list[int]
    layers: list[str]
    norms: list[list[float]]  # [layer][position]
    cos_next: list[list[float]]
    cos_last: list[list[float]]
    pca: Projection
    last_row: str
