"""The shape of a hidden_map result (see analyses/schema.py)."""

from __future__ import annotations

from typing import Any

from pydantic import with_config
from typing_extensions import TypedDict

from lmreport.analyses.consistency import SLACK, descending, layer_rows, model, probabilities, sized, table
from lmreport.analyses.schema import STRICT, Computed, within


class Point(TypedDict):
    prompt: int  # which prompt of prompts (0 with one prompt)
    position: int  # the token of that prompt the point is
    token: str
    label: int | None  # which of labels (None without labels)


@with_config(STRICT)
class HiddenMapResult(Computed):
    method: str  # pca, tsne or umap
    seed: int | None  # tsne and umap only
    tokens_of_one_prompt: bool  # a point per token of one prompt, not a point per prompt
    prompts: list[str]
    labels: list[str]  # the examples' labels in the author's order ([] without)
    points: list[Point]
    layers: list[str]
    layer: int  # the row the slider opens on (1 to the number of blocks)
    coords: list[list[list[float]]]  # [layer][point][2]
    variance: list[list[float]] | None  # [layer][axis]: PCA's explained variance ratio
    separation: list[float] | None  # [layer]: silhouette of the labels in the full hidden space
    map_separation: list[float] | None  # [layer]: silhouette of the labels in the map


def consistent(data: dict[str, Any]) -> list[str]:
    """A point per prompt (or per token of the one prompt) at a position, each with a label where there are
    labels; every row (the embeddings, then each block) places every point in two dimensions; PCA's two shares
    of variance are probabilities, the larger first, of at most 1 together; silhouettes lie within -1..1."""
    if model(data):
        return model(data)
    n_rows, points, labels = data["model_shape"]["layers"] + 1, data["points"], data["labels"]
    problems = layer_rows(data) + within("the opening layer", [data["layer"]], 1, n_rows - 1)
    if not points or not data["prompts"]:
        return problems + [f"{len(points)} points of {len(data['prompts'])} prompts (at least one of each)"]
    if data["tokens_of_one_prompt"] and (len(data["prompts"]) != 1 or labels):
        problems.append(f"a map of one prompt's tokens has {len(data['prompts'])} prompts and {len(labels)} labels")
    problems += within("a point's prompt", [p["prompt"] for p in points], 0, len(data["prompts"]) - 1)
    problems += within("a point's position", [p["position"] for p in points], 0, 10**6)
    if labels:
        problems += within("a point's label", [-1 if p["label"] is None else p["label"] for p in points], 0,
                           len(labels) - 1)
    elif any(p["label"] is not None for p in points):
        problems.append("a point has a label, and the map has none")
    shape = table("coords", data["coords"], n_rows, len(points), column="point")
    if not shape:
        point = next((xy for row in data["coords"] for xy in row if len(xy) != 2), None)
        if point is not None:
            shape.append(f"a point of the map has {len(point)} coordinates, not 2")
    return problems + shape + _variance(data["variance"], n_rows) + _silhouettes(data, n_rows)


def _variance(variance: list[list[float]] | None, n_rows: int) -> list[str]:
    if variance is None:
        return []
    problems = table("variance", variance, n_rows, 2, column="axe")
    for row in [] if problems else variance:
        problems += probabilities("an explained variance ratio", row) + descending("explained variance ratios", row)
        if sum(row) > 1 + SLACK:
            problems.append(f"the two axes explain {sum(row)} of the variance, more than all of it")
        if problems:
            break
    return problems


def _silhouettes(data: dict[str, Any], n_rows: int) -> list[str]:
    problems = []
    for name in ("separation", "map_separation"):
        scores = data[name]
        if scores is None:
            continue
        if len(data["labels"]) < 2:
            problems.append(f"{name} is given, and the map has {len(data['labels'])} labels")
            continue
        problems += sized(name, scores, n_rows, "layer")
        bad = next((v for v in scores if not -1 - SLACK <= v <= 1 + SLACK), None)
        if bad is not None:
            problems.append(f"a silhouette score {bad} is outside -1..1")
    return problems
