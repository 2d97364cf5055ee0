"""Drawing helpers the analyses' views share (figures, tokens, Bokeh charts, BertViz views); no torch here."""

from __future__ import annotations



