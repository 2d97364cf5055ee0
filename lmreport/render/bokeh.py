"""Bokeh plots as page fragments that use the site's shared BokehJS (never a CDN)."""

from __future__ import annotations

from bokeh.embed import components
from bokeh.models import Plot

from .common import Figure


def bokeh_figure(plot: Plot) -> Figure:
    script, div = components(plot)
    return Figure(html=f'<div class="bk-figure">{div}</div>\n{script}', assets={"bokeh"})
