"""Generated text: each new token with the alternatives the model weighed (a step × rank grid)."""

from __future__ import annotations

from markupsafe import escape

from lmreport.result import Result
from lmreport.views.bertviz import views_html
from lmreport.views.bokeh import BOKEH_TOOLS, bokeh_figure, grid
from lmreport.views.figure import RANK_RULE, Figure, display_token, display_tokens


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    steps = data["steps"]
    k = len(steps[0]["alternatives"]) if steps else 0
    chosen = [display_token(s["token"]) for s in steps]
    # Row 0 at the bottom: put rank 1 on top.
    alts = [[s["alternatives"][k - 1 - r] for s in steps] for r in range(k)]
    fig = grid(
        title="What the model weighed at each step (the chosen token is marked ●)",
        x_labels=[f"{i}: {c}" for i, c in enumerate(chosen)],  # steps count from 0, as positions do
        y_labels=[f"#{k - r}" for r in range(k)],
        values=[[a["prob"] for a in row] for row in alts],
        text=[[("● " if a["id"] == s["id"] else "") + display_token(a["token"]) for a, s in zip(row, steps,
                                                                                                 strict=True)]
              for row in alts],
        hover={
            "step": [[str(i) for i in range(len(steps))] for _ in range(k)],
            "token": [[display_token(a["token"]) for a in row] for row in alts],
            "probability": [[f"{100 * a['prob']:.2f}%" for a in row] for row in alts],
            "chosen": [[f"{c} ({100 * s['prob']:.2f}%, rank {s['rank']})" for c, s in zip(chosen, steps,
                                                                                            strict=True)]
                       for _ in range(k)],
        },
        low=0.0,
        high=1.0,
        x_axis_label="step (from 0): generated token",
        y_axis_label="rank",
    )
    prompt = "".join(display_tokens(data["tokens"]))
    text = "".join(f'<span class="gen-token" title="{100 * s["prob"]:.2f}%">{escape(c)}</span>'
                   for c, s in zip(chosen, steps, strict=True))
    summary = data.get("distribution", "softmax of the logits (temperature 1)")
    parts = [f'<p class="figure-summary">Probabilities: {escape(summary)}; {escape(RANK_RULE)}.</p>',
             f'<p class="generated"><span class="gen-prompt">{escape(prompt)}</span>{text}</p>',
             bokeh_figure(fig).html]
    assets = {"bokeh"}
    if data["attention"]:
        parts.append(views_html(data["attention"], figure_id))
        assets.add("bertviz")
    return Figure(html="\n".join(parts), assets=assets)


GUIDE = (
    "Each column is one generated token; rows are the alternatives the model weighed, most likely on top.",
    "● marks the token that was chosen. Probabilities are those of the distribution the token came from "
    "(after the temperature when sampling). " + BOKEH_TOOLS,
)
