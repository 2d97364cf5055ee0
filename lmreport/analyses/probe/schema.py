"""The shape of a probe result (see analyses/schema.py)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from pydantic import with_config
from typing_extensions import TypedDict

from lmreport.analyses.consistency import layer_rows, model, probabilities, sized, table, token_ids
from lmreport.analyses.schema import STRICT, Computed, within

CONTROL_BY = ("token", "prompt")  # what gets one random label in the control task
AGREE = 1e-9  # means and differences of the same floats, recomputed


class ProbedPrompt(TypedDict):
    prompt: str
    label: int  # its class: a number into labels
    n_tokens: int
    position: int  # where it is read, from 0
    token: str  # the token there
    token_id: int
    fold: int  # the fold it is tested in, from 0
    control: int  # its class in the control task


@with_config(STRICT)
class ProbeResult(Computed):
    notes: list[str]
    labels: list[str]
    prompts: list[ProbedPrompt]
    layers: list[str]
    position: int  # as the block gives it (-1: each prompt's last token)
    control_by: str  # token or prompt
    folds: int
    C: float
    seed: int
    accuracy: list[float]  # per layer, the mean over folds
    accuracy_folds: list[list[float]]  # [layer][fold]
    control: list[float]
    control_folds: list[list[float]]
    selectivity: list[float]  # accuracy - control
    baseline: float  # the share of the largest class


def consistent(data: dict[str, Any]) -> list[str]:
    """Two classes or more, each prompt of one of them, read at a position it has and tested in one of the folds,
    every fold testing some; per layer, an accuracy and a control accuracy that are the means of their folds', each
    fold's a whole number of its prompts; selectivity their difference; the baseline the largest class's share;
    with control_by token, one control class per token."""
    if model(data):
        return model(data)
    n_rows, folds, labels, rows = data["model_shape"]["layers"] + 1, data["folds"], data["labels"], data["prompts"]
    problems = layer_rows(data)
    if len(labels) < 2 or len(set(labels)) != len(labels):
        problems.append(f"the labels {labels[:4]} are not two or more different classes")
    if data["control_by"] not in CONTROL_BY:
        problems.append(f"control_by {data['control_by']!r} is not one of {', '.join(CONTROL_BY)}")
    if not 2 <= folds <= len(rows):
        return problems + [f"{folds} folds for {len(rows)} prompts"]
    for name in ("accuracy", "control", "selectivity"):
        problems += sized(name, data[name], n_rows, "layer")
    problems += table("accuracy_folds", data["accuracy_folds"], n_rows, folds, column="fold")
    problems += table("control_folds", data["control_folds"], n_rows, folds, column="fold")
    problems += within("a prompt's label", [r["label"] for r in rows], 0, len(labels) - 1)
    problems += within("a prompt's control class", [r["control"] for r in rows], 0, len(labels) - 1)
    problems += within("a prompt's fold", [r["fold"] for r in rows], 0, folds - 1)
    problems += token_ids("a prompt's token id", [r["token_id"] for r in rows], data)
    bad = next((r for r in rows if not 0 <= r["position"] < r["n_tokens"]), None)
    if bad is not None:
        problems.append(f"the position {bad['position']} is outside the {bad['n_tokens']} tokens of a prompt")
    if problems:
        return problems
    sizes = Counter(r["fold"] for r in rows)
    if len(sizes) != folds:
        return [f"{folds - len(sizes)} of the {folds} folds test no prompt"]
    problems += _scores(data, [sizes[k] for k in range(folds)])
    classes = Counter(r["label"] for r in rows)
    if abs(data["baseline"] - max(classes.values()) / len(rows)) > AGREE:
        problems.append(f"the baseline {data['baseline']} is not the largest class's share of the prompts")
    if data["control_by"] == "token":
        given: dict[int, set[int]] = defaultdict(set)
        for r in rows:
            given[r["token_id"]].add(r["control"])
        split = next((t for t, found in given.items() if len(found) > 1), None)
        if split is not None:
            problems.append(f"token id {split} has {len(given[split])} classes in the control task, not one")
    return problems


def _scores(data: dict[str, Any], sizes: list[int]) -> list[str]:
    problems = []
    for name in ("accuracy", "control"):
        scores = data[f"{name}_folds"]
        problems += probabilities(f"an accuracy of {name}_folds", (v for row in scores for v in row))
        for layer, (row, mean) in enumerate(zip(scores, data[name], strict=True)):
            if abs(sum(row) / len(row) - mean) > AGREE:
                problems.append(f"{name} {mean} at layer {layer} is not the mean of its folds' {row[:4]}")
            odd = next((k for k, v in enumerate(row) if abs(v * sizes[k] - round(v * sizes[k])) > 1e-6), None)
            if odd is not None:
                problems.append(f"{name} {row[odd]} of fold {odd} at layer {layer} is not a whole number of its "
                                f"{sizes[odd]} prompts")
            if problems:
                return problems
    difference = next((layer for layer, (a, c, s) in enumerate(zip(data["accuracy"], data["control"],
                                                                   data["selectivity"], strict=True))
                       if abs(a - c - s) > AGREE), None)
    if difference is not None:
        problems.append(f"the selectivity at layer {difference} is not accuracy - control")
    return problems
