"""A small analysis written in the test suite, to show (and test) that adding one is one folder and one registry
line: the length of the residual stream at each layer. Registered by tests/analyses/norms/test_norms.py."""

from __future__ import annotations

from lmreport.analyses.options import PROMPT
from lmreport.analyses.spec import Analysis
from tests.analyses.norms import compute, values, view
from tests.analyses.norms.schema import NormsResult

ANALYSIS = Analysis(
    name="norms",
    label="Residual stream norms",
    summary="The L2 norm of the residual stream after each layer, per token and averaged over the tokens.",
    options=(PROMPT,),
    compute=compute.compute,
    schema=NormsResult,
    render=view.render,
    guide=view.GUIDE,
    table=view.table,
    values=values.VALUES,
    needs=frozenset({"hidden_states"}),
)
