"""The probe analysis: its spec, registered in analyses/__init__.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmreport.analyses.options import Option
from lmreport.analyses.probe import compute, values, view
from lmreport.analyses.probe.examples import ExamplesOption, labelled
from lmreport.analyses.probe.schema import CONTROL_BY, ProbeResult, consistent
from lmreport.analyses.spec import Analysis


@dataclass(frozen=True)
class ProbeAnalysis(Analysis):
    """Its prompts are the labelled examples', every class's in the order written."""

    def prompts(self, options: dict[str, Any]) -> list[str]:
        return labelled(options["examples"])[1]


ANALYSIS = ProbeAnalysis(
    name="probe",
    label="Linear probe per layer, with a control task",
    summary=(
        "Labelled prompts (e.g. singular vs plural subjects): the cross-validated accuracy, at every layer, of a "
        "logistic-regression probe reading the class from the residual stream at one position, beside the same "
        "probe on a control task (each word type a random label) and their difference, the selectivity."
    ),
    options=(
        ExamplesOption("examples", dict, help="each label with its prompts, e.g. {singular: [\"The dog\", \"The "
                       "key\"], plural: [\"The dogs\", \"The keys\"]}; at least 2 classes, each with at least as "
                       "many prompts as folds, each prompt once, 400 in all at most"),
        Option("position", int, -1, "the token each prompt is read at, counted in each prompt on its own (-1: "
               "its last token, 1: its second, whatever its length)", indexes="position"),
        Option("folds", int, 5, "cross-validation folds (stratified: each fold tests every class)", minimum=2,
               maximum=20),
        Option("C", float, 1.0, "the logistic regression's inverse regularisation strength (smaller: a simpler "
               "probe)", minimum=1e-6, maximum=1e6),
        Option("seed", int, 0, "seed of the folds' shuffle and of the control task's labels", minimum=0,
               maximum=1_000_000),
        Option("control_by", str, "token", "what the control task gives one random label: token (each distinct "
               "token at the position, a word type) or prompt (each prompt)", choices=CONTROL_BY),
    ),
    compute=compute.compute,
    schema=ProbeResult,
    consistent=consistent,
    render=view.render,
    guide=view.GUIDE,
    table=view.table,
    needs=compute.NEEDS,
    values=values.VALUES,
)
