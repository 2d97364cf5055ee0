"""The shape of a hidden_states result (see analyses/schema.py)."""

from __future__ import annotations

from typing import Any

from pydantic import with_config
from typing_extensions import TypedDict

from lmreport.analyses.consistency import SLACK, descending, layer_rows, model, probabilities, prompt, table
from lmreport.analyses.schema import STRICT, Computed, within


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


def consistent(data: dict[str, Any]) -> list[str]:
    """One row per layer (the embeddings, then each block; cos_next one fewer) of one number per token; norms are
    lengths and cosines within [-1, 1]; the PCA has a 2-D point per row and token from its first position."""
    if model(data):
        return model(data)
    n_rows, n = data["model_shape"]["layers"] + 1, len(data["tokens"])
    problems = prompt(data) + layer_rows(data)
    problems += table("norms", data["norms"], n_rows, n) + table("cos_last", data["cos_last"], n_rows, n)
    problems += table("cos_next", data["cos_next"], n_rows - 1, n)
    pca = data["pca"]
    first = pca["first_position"]
    place = within("the PCA's first position", [first], 0, 1 if n > 1 else 0)
    if problems or place:
        return problems + place
    problems += table("the PCA's points", pca["points"], n_rows, n - first)
    point = next((p for row in pca["points"] for p in row if len(p) != 2), None)
    if point is not None:
        problems.append(f"a point of the PCA has {len(point)} coordinates, not 2")
    lowest = min((v for row in data["norms"] for v in row), default=0.0)
    if lowest < 0:
        problems.append(f"a norm {lowest} is negative")
    cosines = (v for name in ("cos_next", "cos_last") for row in data[name] for v in row)
    bad_cos = next((v for v in cosines if not -1 - SLACK <= v <= 1 + SLACK), None)
    if bad_cos is not None:
        problems.append(f"a cosine similarity {bad_cos} is outside -1..1")
    # the last row is compared with itself (torch clamps tiny lengths: a vector of length about 0 may have any
    # cosine, so only those of some length are held to 1)
    itself = next((v for v, norm in zip(data["cos_last"][-1], data["norms"][-1], strict=True)
                   if abs(v - 1) > SLACK and norm > 1e-3), None)
    if itself is not None:
        problems.append(f"the last row's cosine similarity to itself is {itself}, not 1")
    ratio = pca["explained_variance_ratio"]
    problems += probabilities("an explained variance ratio", ratio)
    if not 1 <= len(ratio) <= 2 or sum(ratio) > 1 + SLACK or descending("", ratio):
        problems.append(f"the explained variance ratio {ratio} is not one or two shares, the larger first, of at "
                        "most 1 in all")
    return problems
