"""A probe's accuracy per layer beside its control task's, with the majority baseline dashed."""

from __future__ import annotations

from typing import Any

from bokeh.models import Range1d
from markupsafe import Markup

from lmreport.analyses.spec import Rows
from lmreport.result import Result
from lmreport.views.bokeh import BOKEH_TOOLS, bokeh_figure, lines
from lmreport.views.figure import Figure, display_token


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    n_rows = len(data["layers"])
    hover = {
        "accuracy": [f"{v:.1%}" for v in data["accuracy"]],
        "control": [f"{v:.1%}" for v in data["control"]],
        "selectivity": [f"{v:+.1%}" for v in data["selectivity"]],
        "folds": [", ".join(f"{v:.0%}" for v in row) for row in data["accuracy_folds"]],
    }
    series = [
        {"label": "probe accuracy", "values": data["accuracy"], "hover": hover},
        {"label": f"control task (a random label per {'word type' if data['control_by'] == 'token' else 'prompt'})",
         "values": data["control"], "hover": hover},
        {"label": f"majority baseline ({data['baseline']:.0%})", "values": [data["baseline"]] * n_rows,
         "hover": hover, "dash": "dashed"},
    ]
    chart = lines(title=f"Linear probe accuracy at each layer: {' vs '.join(data['labels'])}", series=series,
                  n_rows=n_rows, y_axis_label="accuracy (held-out folds)", width=640)
    chart.y_range = Range1d(0, 1.02)  # accuracies are shares: a fixed axis keeps chance and perfect in view
    figure = bokeh_figure(chart)
    figure.html = str(Markup('<p class="figure-summary">{}</p>\n').format(caption(data))) + figure.html
    return figure


def caption(data: dict[str, Any]) -> str:
    """What exactly is measured, in one paragraph under the figure's title."""
    counts = [sum(1 for p in data["prompts"] if p["label"] == c) for c in range(len(data["labels"]))]
    named = [f"{label} ({n}{' prompts' if i == 0 else ''})"
             for i, (label, n) in enumerate(zip(data["labels"], counts, strict=True))]
    classes = ", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else "".join(named)
    position = data["position"]
    where = "each prompt's last token" if position == -1 else \
        f"token {position} of each prompt, counted from 0 at its start" if position >= 0 else \
        f"token {position} of each prompt, counted from its end"
    tokens = sorted({display_token(p["token"]) for p in data["prompts"]})
    shown = ", ".join(tokens[:6]) + (f" and {len(tokens) - 6} more" if len(tokens) > 6 else "")
    control = "each distinct token at that position a random label, the classes' sizes kept as closely as whole " \
        "words allow (Hewitt & Liang 2019): what the probe scores there it scores by remembering words" \
        if data["control_by"] == "token" else \
        "each prompt a random label, with the classes' sizes kept: labels no probe can read from a new prompt"
    return (
        f"A logistic-regression probe (features standardised on the training folds, C = {data['C']:g}) reads the "
        f"residual stream at {where} ({shown}) and tells apart {classes}. Layer 0 is the embeddings, layer n the "
        f"residual stream after block n (the last row before the final norm). Accuracy is the mean over "
        f"{data['folds']} stratified folds (seed {data['seed']}), each tested by a probe fitted on the others. The "
        f"control task gives {control}; selectivity = accuracy − control. Dashed: always answering the largest "
        "class."
    )


def table(data: dict[str, Any]) -> Rows:
    folds = range(1, data["folds"] + 1)
    rows: Rows = [["layer", "accuracy", "control", "selectivity", "majority_baseline"]
                  + [f"accuracy_fold_{k}" for k in folds] + [f"control_fold_{k}" for k in folds]]
    for layer, (a, c, s, a_folds, c_folds) in enumerate(zip(data["accuracy"], data["control"], data["selectivity"],
                                                            data["accuracy_folds"], data["control_folds"],
                                                            strict=True)):
        rows.append([layer, a, c, s, data["baseline"], *a_folds, *c_folds])
    return rows


GUIDE = (
    "How well a linear probe reads the prompts' class from each layer, beside the same probe on a control task "
    "that only remembering words can solve.",
    "Each layer's line point is a cross-validated accuracy: a logistic regression fitted on some prompts' "
    "residual-stream vectors (at one position) and tested on the others. A high accuracy shows the class can be "
    "read linearly there, not that the model uses it. The control task keeps the prompts and their words but "
    "gives every word type a random class: a probe that scores well on it can memorise words, so the gap "
    "between the two lines (selectivity) is the fairer measure. " + BOKEH_TOOLS,
)
