"""What prose may cite from a probe result (`=id.value`), as plain functions of its data. Layers count as the
figure's rows: 0 is the embeddings, n the residual stream after block n, -1 the last row."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.citing import checked_index
from lmreport.glue.sizes import MODEL
from lmreport.glue.types import NotApplicableHere, ReferenceProblem


def _at(data: dict[str, Any], name: str, layer: int) -> float:
    values = data[name]
    return float(values[checked_index(layer, len(values), "layer")])


def probe_accuracy(data: dict[str, Any], layer: int = -1) -> float:
    """the probe's accuracy at a layer: its share of prompts classed right, mean over the folds, each tested by a
    probe fitted on the others"""
    return _at(data, "accuracy", layer)


def probe_control(data: dict[str, Any], layer: int = -1) -> float:
    """the accuracy at a layer of the same probe on the control task (each word type a random label)"""
    return _at(data, "control", layer)


def probe_selectivity(data: dict[str, Any], layer: int = -1) -> float:
    """accuracy − control at a layer: what the probe reads beyond remembering word types"""
    return _at(data, "selectivity", layer)


def _first_largest(values: list[float]) -> int:
    return max(range(len(values)), key=lambda i: (values[i], -i))


def probe_best_layer(data: dict[str, Any]) -> int:
    """the layer of the largest selectivity (the first of equals): where the probe reads most beyond types"""
    return _first_largest(data["selectivity"])


def probe_best_selectivity(data: dict[str, Any]) -> float:
    """the largest selectivity over the layers (at best_layer)"""
    return float(max(data["selectivity"]))


def probe_best_accuracy(data: dict[str, Any]) -> float:
    """the largest accuracy over the layers (at most_accurate_layer, which may not be best_layer)"""
    return float(max(data["accuracy"]))


def probe_most_accurate_layer(data: dict[str, Any]) -> int:
    """the layer of the largest accuracy (the first of equals)"""
    return _first_largest(data["accuracy"])


def probe_baseline(data: dict[str, Any]) -> float:
    """the accuracy of always answering the largest class (its share of the prompts)"""
    return float(data["baseline"])


def probe_first_layer_above(data: dict[str, Any], threshold: float) -> int:
    """the first layer whose accuracy is above a threshold (e.g. 0.9)"""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise ReferenceProblem(f"the threshold must be a number, e.g. 0.9, not {threshold!r}")
    found = next((layer for layer, value in enumerate(data["accuracy"]) if value > threshold), None)
    if found is None:
        raise NotApplicableHere(f"no layer's accuracy is above {threshold:g} (the largest: "
                                f"{max(data['accuracy']):.3f})")
    return found


def probe_n_prompts(data: dict[str, Any]) -> int:
    """how many labelled prompts the probe is fitted and tested on"""
    return len(data["prompts"])


def probe_folds(data: dict[str, Any]) -> int:
    """the number of cross-validation folds"""
    return int(data["folds"])


VALUES = {**MODEL, "accuracy": probe_accuracy, "control": probe_control, "selectivity": probe_selectivity,
          "best_layer": probe_best_layer, "best_selectivity": probe_best_selectivity,
          "best_accuracy": probe_best_accuracy, "most_accurate_layer": probe_most_accurate_layer,
          "baseline": probe_baseline, "first_layer_above": probe_first_layer_above, "n_prompts": probe_n_prompts,
          "folds": probe_folds}
