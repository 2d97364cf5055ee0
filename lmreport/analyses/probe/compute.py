"""Linear probes per layer: how well logistic regression reads the class of a labelled prompt from the residual
stream at one position of it, by stratified k-fold cross-validation, beside a control task (Hewitt & Liang 2019)
that gives every word type a random label: selectivity is the accuracy above what remembering types gives."""

from __future__ import annotations

from collections import Counter
from typing import Any

from lmreport.analyses.common import layer_names, resolve_position
from lmreport.analyses.probe.examples import labelled
from lmreport.analyses.probe.probing import control_labels, fold_accuracies, stratified_folds
from lmreport.analyses.probe.states import states_at
from lmreport.errors import AnalysisError, short
from lmreport.models.forward import ForwardPass, LoadedModel

NEEDS: frozenset[str] = frozenset()  # the build's pass of the first prompt; compute() runs its own, batched

MAX_TOKENS = 128  # per prompt: a probe reads short labelled prompts


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    labels, prompts, classes = labelled(options["examples"])
    folds = options["folds"]
    _check_class_sizes(labels, classes, folds)
    encoded = [_encode(model, prompt) for prompt in prompts]
    positions = [_position(options["position"], ids, prompt) for ids, prompt in zip(encoded, prompts, strict=True)]
    at = [ids[p] for ids, p in zip(encoded, positions, strict=True)]
    types = at if options["control_by"] == "token" else list(range(len(prompts)))
    _check_types(types, labels, model, options["position"])
    fold_of = stratified_folds(classes, folds, options["seed"])
    control = control_labels(types, classes, options["seed"])
    states = states_at(model, encoded, positions).double().numpy()  # [prompt, layer + 1, d_model]
    accuracy_folds, control_folds, unconverged = [], [], []
    for row in range(states.shape[1]):
        real, real_ok = fold_accuracies(states[:, row], classes, fold_of, folds, options["C"])
        remembered, remembered_ok = fold_accuracies(states[:, row], control, fold_of, folds, options["C"])
        accuracy_folds.append(real)
        control_folds.append(remembered)
        if not (real_ok and remembered_ok):
            unconverged.append(row)
    accuracy = [sum(scores) / folds for scores in accuracy_folds]
    control_accuracy = [sum(scores) / folds for scores in control_folds]
    token_texts = model.token_texts(at)
    return {
        "notes": _notes(unconverged),
        "labels": labels,
        "prompts": [
            {"prompt": prompt, "label": label, "n_tokens": len(ids), "position": position, "token": token,
             "token_id": ids[position], "fold": fold, "control": control_label}
            for prompt, label, ids, position, token, fold, control_label in
            zip(prompts, classes, encoded, positions, token_texts, fold_of, control, strict=True)
        ],
        "layers": layer_names(states.shape[1]),
        "position": options["position"],
        "control_by": options["control_by"],
        "folds": folds,
        "C": options["C"],
        "seed": options["seed"],
        "accuracy": accuracy,
        "accuracy_folds": accuracy_folds,  # [layer][fold]
        "control": control_accuracy,
        "control_folds": control_folds,
        "selectivity": [a - c for a, c in zip(accuracy, control_accuracy, strict=True)],
        "baseline": max(Counter(classes).values()) / len(classes),
    }


def _check_class_sizes(labels: list[str], classes: list[int], folds: int) -> None:
    """Stratified folds hold every class in every fold: each class needs at least as many prompts as folds."""
    counts = Counter(classes)
    small = next((c for c in range(len(labels)) if counts[c] < folds), None)
    if small is not None:
        raise AnalysisError(f"{labels[small]!r} has {counts[small]} prompts, fewer than the {folds} folds (each "
                            "fold tests every class): give it more prompts, or lower folds", "examples")


def _encode(model: LoadedModel, prompt: str) -> list[int]:
    try:
        ids = model.encode(prompt)
    except AnalysisError:
        raise AnalysisError(f"the prompt {short(prompt, 40)!r} gives no tokens", "examples") from None
    limit = min(MAX_TOKENS, model.max_positions or MAX_TOKENS)
    if len(ids) > limit:
        raise AnalysisError(f"the prompt {short(prompt, 40)!r} is {len(ids)} tokens long; a probe reads prompts "
                            f"of at most {limit}", "examples")
    return ids


def _position(position: int, ids: list[int], prompt: str) -> int:
    try:
        return resolve_position(position, len(ids))
    except AnalysisError as e:
        raise AnalysisError(f"{e} ({short(prompt, 40)!r})", "position") from None


def _check_types(types: list[Any], labels: list[str], model: LoadedModel, position: int) -> None:
    """The control task gives each type one class: with fewer types than classes it cannot have every class."""
    distinct = list(dict.fromkeys(types))
    if len(distinct) < len(labels):
        shown = ", ".join(repr(t) for t in model.token_texts(distinct))
        raise AnalysisError(f"the prompts have {len(distinct)} distinct token{'s' if len(distinct) > 1 else ''} at "
                            f"position {position} ({shown}), fewer than the {len(labels)} classes: a control task "
                            "that gives each token one random label cannot have every class; set control_by: "
                            "prompt (each prompt a random label) or probe another position", "control_by")


def _notes(unconverged: list[int]) -> list[str]:
    if not unconverged:
        return []
    rows = ", ".join(map(str, unconverged[:8])) + (" ..." if len(unconverged) > 8 else "")
    return [f"the probe's fit did not converge at layer{'s' if len(unconverged) > 1 else ''} {rows}: its accuracy "
            "there may be off; a smaller C (more regularisation) converges faster"]
