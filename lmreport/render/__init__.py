"""Turning results into HTML fragments (Bokeh and BertViz); nothing here touches torch."""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup

from ..result import Result
from . import (
    ablation,
    attention,
    attribution,
    compare_prompts,
    compare_tokens,
    flow,
    generate,
    heads,
    hidden_states,
    logit_lens,
    neurons,
    rank_evolution,
    topk,
)
from .common import Figure

RENDERERS: dict[str, Callable[[Result, str], Figure]] = {
    "attention": attention.render,
    "neuron_view": attention.render_neuron_view,
    "topk": topk.render,
    "logit_lens": logit_lens.render,
    "rank_evolution": rank_evolution.render,
    "compare_tokens": compare_tokens.render,
    "compare_prompts": compare_prompts.render,
    "hidden_states": hidden_states.render,
    "neurons": neurons.render,
    "generate": generate.render,
    "attribution": attribution.render,
    "ablation": ablation.render,
    "heads": heads.render,
    "flow": flow.render,
}


def render(result: Result, figure_id: str) -> Figure:
    """The figure of a result; figure_id must be unique on its page. A block skipped for its model gets a note."""
    if "skipped" in result.data:
        return Figure(html=str(Markup('<p class="figure-skipped">Not drawn: {}</p>').format(result.data["skipped"])))
    return RENDERERS[result.analysis](result, figure_id)


# The script groups (BokehJS, BertViz...) already inlined in this Python session's notebook output: a notebook
# loads each once, in the first cell that needs it, not in every cell (BokehJS alone is 1.3 MB).
_SENT: set[str] = set()


def standalone_html(result: Result) -> str:
    """A figure with the scripts it needs inlined (for notebooks): no file or network access needed. Scripts an
    earlier figure of this session brought are not inlined again (notebook_reset() sends them again)."""
    import uuid

    from ..assets import inline_assets

    figure = render(result, f"lmr-{uuid.uuid4().hex[:12]}")
    needed = figure.assets - _SENT
    _SENT.update(needed)
    return inline_assets(needed) + figure.html


def notebook_reset() -> None:
    """Inline every script again in the next figures (after clearing the outputs that had loaded them)."""
    _SENT.clear()
