"""Turning results into HTML fragments (Bokeh and BertViz); nothing here touches torch."""

from __future__ import annotations

from collections.abc import Callable

from ..result import Result
from . import attention, logit_lens, topk
from .common import Figure

RENDERERS: dict[str, Callable[[Result, str], Figure]] = {
    "attention": attention.render,
    "logit_lens": logit_lens.render,
    "topk": topk.render,
}


def render(result: Result, figure_id: str) -> Figure:
    """The figure of a result; figure_id must be unique on its page."""
    return RENDERERS[result.analysis](result, figure_id)


def standalone_html(result: Result) -> str:
    """A figure with its scripts inlined (for notebooks): no file or network access needed."""
    import uuid

    from ..assets import inline_assets

    figure = render(result, f"lmr-{uuid.uuid4().hex[:12]}")
    return inline_assets(figure.assets) + figure.html
