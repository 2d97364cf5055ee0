"""What every renderer shares: the Figure it returns, readable tokens, JSON that is safe inside <script>."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any

# How every figure ranks a token (analyses/common.py ranks this way).
RANK_RULE = "rank = 1 + the number of tokens with a larger logit (ties share the better rank)"


LENS_RULE = ("each layer's residual stream through the final norm and the unembedding (the logit lens); layer 0 "
             "is the embeddings, layer n the output of block n, the last the model's output")


_VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}
# Spelt out as \xNN or \uNNNN: control, format, surrogate, private and unassigned characters, and the spaces and
# line breaks other than those above (a no-break space, U+00A0, drew an empty cell; U+2028 broke a line).
HIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp")


@dataclass
class Figure:
    """An HTML fragment and the shared assets (bokeh, bertviz) its page must load."""

    html: str
    assets: set[str] = field(default_factory=set)


def display_token(text: str) -> str:
    """A token as a reader can see it: spaces and newlines made visible, control characters and other spaces spelt
    out."""
    if text == "":
        return "∅"
    out = []
    for ch in text:
        if ch in _VISIBLE:
            out.append(_VISIBLE[ch])
        elif unicodedata.category(ch) in HIDDEN_CATEGORIES:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) > 0xFF else f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def _signed_rgb(value: float, scale: float, strength: float) -> tuple[int, int, int]:
    t = 0.0 if scale <= 0 else max(-1.0, min(1.0, value / scale))
    base = (59, 111, 182) if t >= 0 else (192, 57, 43)
    return tuple(round(255 + (c - 255) * abs(t) * strength) for c in base)  # type: ignore[return-value]


def _css(rgb: tuple[int, int, int]) -> str:
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})"


def readable_on(rgb: tuple[int, int, int]) -> str:
    """Black or white text, whichever contrasts more with that background: one of them always reaches WCAG AA's
    4.5:1 (a softer dark grey would leave a band of mid-tones where neither does)."""
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2])
    return "#000" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#fff"


def signed_style(value: float, scale: float, strength: float = 0.85) -> str:
    """background and color for a signed score's cell: readable text on every shade."""
    rgb = _signed_rgb(value, scale, strength)
    return f"background:{_css(rgb)};color:{readable_on(rgb)}"


def shade_style(weight: float) -> str:
    """background and color for an unsigned weight in [0, 1]: white to blue, opaque (the same in either theme)."""
    return signed_style(max(0.0, min(1.0, weight)), 1.0, 1.0)


def display_tokens(texts: list[str]) -> list[str]:
    return [display_token(t) for t in texts]


def script_json(data: Any) -> str:
    """JSON that cannot end a <script> element or open a comment inside it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
