"""Prompt ablation as a table: one row per variant (the base prompt first, then by effect), the changed span
marked, the followed tokens' probability and rank, the KL divergence from the base, and the top tokens."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from lmreport.analyses.spec import Rows
from lmreport.result import Result
from lmreport.views.figure import RANK_RULE, Figure, display_token


def _variant_html(prompt: str, row: dict) -> Markup:
    """The variant's text, its change shown against the base prompt: a dropped span struck, a new one marked."""
    change = row["change"]
    if change is None:
        return Markup("{}").format(row["text"])
    start, end, new = change
    removed = prompt[start:end]
    parts = Markup("{}").format(prompt[:start])
    if removed:
        parts += Markup('<del title="removed">{}</del>').format(removed)
    if new:
        parts += Markup('<mark title="put in its place">{}</mark>').format(new)
    return parts + Markup("{}").format(prompt[end:])


def render(result: Result, figure_id: str) -> Figure:
    data = result.data
    rows = data["rows"]
    base = rows[0]
    head = Markup("").join(Markup("<th scope=\"col\">p(<code>{}</code>) · rank</th>").format(display_token(t))
                           for t in data["tokens"])
    body = []
    for i in data["order"]:
        row = rows[i]
        cells = []
        for target, base_target in zip(row["targets"], base["targets"], strict=True):
            delta = target["prob"] - base_target["prob"]
            shift = "" if i == 0 else Markup(' <small class="{}">{:+.1%}</small>').format(
                "up" if delta > 0 else "down", delta)
            cells.append(Markup("<td>{:.1%}{} · {}</td>").format(target["prob"], shift, target["rank"]))
        # each token with its probability on one line (a narrow column broke between them, a line each)
        top = Markup(", ").join(Markup('<span class="nowrap">{} {:.0%}</span>').format(display_token(t["token"]),
                                                                                   t["prob"]) for t in row["top"])
        kind = "base prompt" if i == 0 else ""
        body.append(Markup('<tr{}><td class="ablation-number">{}</td><th scope="row" class="ablation-variant">{}{}'
                           '</th>{}<td>{}</td><td>{}</td></tr>'
                           ).format(Markup(' class="ablation-base"') if i == 0 else "", row["index"],
                                    _variant_html(data["prompt"], row),
                                    Markup(' <small>({})</small>').format(kind) if kind else "",
                                    Markup("").join(cells), f"{row['kl']:.3f}", top))
    table = Markup('<div class="table-scroll"><table class="ablation"><thead><tr><th scope="col" title="the '
                   'variant\'s number, as prose cites it: top(1), prob(token, 1)">#</th><th scope="col">prompt</th>{}'
                   '<th scope="col" title="KL divergence of the next-token distribution from the base prompt\'s, '
                   'in nats">KL from base</th><th scope="col">top next tokens</th></tr></thead><tbody>{}</tbody>'
                   '</table></div>').format(head, Markup("\n").join(body))
    help_text = Markup('<p class="view-help">Each row is one variant of the base prompt (struck: removed; marked: '
                       "put in its place), sorted by how far its next-token distribution moved from the base "
                       "prompt's (KL divergence, nats); # is the variant's number (0: the base prompt), as prose "
                       "cites it. Probabilities are the softmax of the final logits after "
                       "the last token, temperature 1; the small number is the change from the base; {}.</p>"
                       ).format(RANK_RULE)
    return Figure(html=str(table + help_text), assets=set())


def table(data: dict[str, Any]) -> Rows:
    rows: Rows = [["variant", "text", "kl_from_base", "token", "probability", "rank"]]
    for row in data["rows"]:
        for target in row["targets"]:
            rows.append([row["index"], row["text"], row["kl"], target["token"], target["prob"], target["rank"]])
    return rows


GUIDE = (
    "Each row is a variant of the prompt; the table says how the next-token prediction moved.",
    "Struck text was removed and marked text put in its place. Rows are sorted by the KL divergence of the "
    "variant's next-token distribution from the base prompt's (in nats: 0 means unchanged). The small "
    "number beside a probability is its change from the base prompt.",
)
