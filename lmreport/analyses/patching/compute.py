"""Activation patching (causal tracing): which activations of a clean run bring its answer back into a corrupted
run.

The clean prompt and a corrupted one, as many tokens long, differ in a few tokens (a subject swapped). A metric
is read at the last position: logit(answer) − logit(wrong), or p(answer). For each row of a site (the residual
stream after each block, each attention or MLP sub-block's output, each block's heads) and each position (for the
heads: each head, at every position), the corrupted prompt is run again with that one clean activation restored,
and the metric read. Its recovery is (patched − corrupted) / (clean − corrupted): 0 is the corrupted run's value,
1 the clean run's. One batched forward pass per row (several when a row has more items than BATCH), each batch
item restoring a different position or head: the prompts are as long, so nothing is padded.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from lmreport.analyses.common import candidate_ids, space_notes
from lmreport.analyses.patching import runs
from lmreport.errors import AnalysisError
from lmreport.models import architecture
from lmreport.models.forward import ForwardPass, LoadedModel
from lmreport.progress import progress_bar

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

METRICS = ("logit_diff", "prob")


BATCH = 64  # batch items per forward pass: a row of a 64-token prompt in one pass


# |clean − corrupted| at or below this (relative to the metrics' size) leaves nothing to recover
SAME = 1e-6


def corrupted_text(options: dict[str, Any]) -> tuple[str, str, list[str]]:
    """The corrupted prompt, the option that made it (exactly one of corrupted, replace), and notes."""
    corrupted, replace = options["corrupted"], options["replace"]
    if corrupted is not None and replace is not None:
        raise AnalysisError("give one of 'corrupted' and 'replace', not both: each makes the corrupted prompt",
                            "replace")
    if corrupted is None and replace is None:
        raise AnalysisError("the block needs a corrupted prompt: give 'corrupted' (the corrupted prompt) or "
                            "'replace' ([word, replacement]: the prompt with that word replaced)")
    if corrupted is not None:
        return corrupted, "corrupted", []
    word, new = replace
    prompt = options["prompt"]
    if not word or word not in prompt:
        raise AnalysisError(f"{word!r} is not in the prompt {prompt!r}", "replace")
    at = prompt.index(word)
    count = prompt.count(word)
    notes = [f"{word!r} is {count} times in the prompt; 'replace' replaces the first only (give 'corrupted' to "
             "choose)"] if count > 1 else []
    return prompt[:at] + new + prompt[at + len(word):], "replace", notes


def corrupted_ids(model: LoadedModel, forward: ForwardPass, text: str, option: str) -> list[int]:
    """The corrupted prompt's tokens: as many as the clean prompt's (the error shows both splits), not all
    the same."""
    ids = model.encode(text)
    if len(ids) != len(forward.input_ids):
        raise AnalysisError(
            f"the clean and corrupted prompts must be as many tokens long, so that each position of one has its "
            f"match in the other: the clean prompt is {len(forward.input_ids)} tokens "
            f"{_split(model, forward.input_ids)}, the corrupted one {len(ids)} {_split(model, ids)}; change words "
            "until both split into as many tokens", option)
    if ids == list(forward.input_ids):
        raise AnalysisError("the corrupted prompt gives the same tokens as the clean one: nothing to patch", option)
    return ids


def _split(model: LoadedModel, ids: list[int]) -> str:
    return "[" + " | ".join(repr(t) for t in model.token_texts(list(ids))) + "]"


def chosen_tokens(model: LoadedModel, options: dict[str, Any], clean: torch.Tensor, corrupted: torch.Tensor
                  ) -> tuple[int, int | None, str, list[str]]:
    """(answer, wrong or None, how they were chosen, notes). answer: the option, else the clean run's top token;
    wrong (logit_diff only): the option, else the corrupted run's top token, or its best other than the answer
    when that is the answer too (the corruption then does not change the prediction: a note says so)."""
    notes = space_notes(model, [t for t in (options["answer"], options["wrong"]) if t])
    answer = candidate_ids(model, [options["answer"]], "answer")[0] if options["answer"] else int(clean.argmax())
    chosen = ["given" if options["answer"] else "the clean run's top token"]
    if options["metric"] == "prob":
        if options["wrong"]:
            raise AnalysisError("'wrong' is read by metric logit_diff only; metric prob reads p(answer)", "wrong")
        return answer, None, f"answer: {chosen[0]}", notes
    if options["wrong"]:
        wrong = candidate_ids(model, [options["wrong"]], "wrong")[0]
        if wrong == answer:
            raise AnalysisError("wrong is the answer itself: name another token", "wrong")
        chosen.append("given")
    else:
        order = corrupted.argsort(descending=True)[:2].tolist()
        wrong = order[0] if order[0] != answer else order[1]
        chosen.append("the corrupted run's top token" if order[0] != answer else "the corrupted run's second token")
        if order[0] == answer:
            notes.append(f"the corrupted prompt's top token is the answer too ({model.token_texts([answer])[0]!r}): "
                         f"wrong is its second, {model.token_texts([wrong])[0]!r}; name 'wrong' to choose")
    return answer, wrong, f"answer: {chosen[0]}; wrong: {chosen[1]}", notes


def metric_values(logits: torch.Tensor, metric: str, answer: int, wrong: int | None) -> torch.Tensor:
    """The metric of each row of last logits [batch, vocab] (float64): logit(answer) − logit(wrong), or
    p(answer)."""
    if metric == "prob":
        return (logits[:, answer] - logits.logsumexp(-1)).exp()
    return logits[:, answer] - logits[:, wrong]


def restorable(site: runs.Site, clean: torch.Tensor, corrupted: torch.Tensor, n_heads: int) -> list[int]:
    """The positions (heads for site heads) of one row where the clean values differ from the corrupted run's:
    restoring any other puts back what is there already, so its cell is the corrupted run itself (every
    position before the first changed token, and the embeddings of unchanged tokens)."""
    if site.reads_input:
        d_head = clean.shape[-1] // n_heads
        return [h for h in range(n_heads) if not clean[:, h * d_head:(h + 1) * d_head].equal(
            corrupted[:, h * d_head:(h + 1) * d_head])]
    return [p for p in range(clean.shape[0]) if not clean[p].equal(corrupted[p])]


def masks_for(site: runs.Site, n: int, width: int, n_heads: int, items: list[int]) -> torch.Tensor:
    """One mask per batch item: restore items[i]'s position, or its head at every position."""
    if site.reads_input:
        return runs.head_masks(n, width, n_heads, items)
    return runs.position_masks(n, width, items)


def batches(items: list[list[int]]) -> list[tuple[int, list[int]]]:
    """(row, the items of one forward pass): each row's items, BATCH at a time."""
    return [(row, chosen[start:start + BATCH]) for row, chosen in enumerate(items)
            for start in range(0, len(chosen), BATCH)]


def patched_grid(model: LoadedModel, site: runs.Site, clean: list[torch.Tensor], corrupted: list[int],
                 items: list[list[int]], metric: Any, unchanged: float, n_heads: int) -> list[list[float]]:
    """The metric with each one activation restored: [row][position], or [row][head] for the heads; cells not
    in items (nothing to restore) are the corrupted run's metric, `unchanged`."""
    n = len(corrupted)
    grid = [[unchanged] * (n_heads if site.reads_input else n) for _ in clean]
    shared = True
    planned = batches(items)
    with progress_bar(len(planned), "patched pass", sys.stderr.isatty()) as bar:
        for row, chosen in planned:
            masks = masks_for(site, n, clean[row].shape[-1], n_heads, chosen)
            try:
                logits = runs.patched_logits(model, corrupted, site, row, clean[row], masks, shared)
            except RuntimeError as e:
                if not shared:
                    raise
                log.debug("patching: %s cannot widen the batch at the %s (%s); repeating the prompt instead",
                          model.architecture, site.name, e)
                shared = False
                logits = runs.patched_logits(model, corrupted, site, row, clean[row], masks, shared)
            for item, value in zip(chosen, metric(logits).tolist(), strict=True):
                grid[row][item] = value
            bar.update(1)
    return grid


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:

    model.require_lm_head("patching")
    text, option, replaced = corrupted_text(options)
    corrupted = corrupted_ids(model, forward, text, option)
    site = runs.site_of(model, options["site"])
    n_heads = model.shape()["heads"]
    n = len(corrupted)
    if site.reads_input and (n_heads < 1 or model.shape()["d_head"] * n_heads != _width(site)):
        raise AnalysisError(f"cannot split the attention output projection's input of {model.architecture} into "
                            f"{n_heads} heads", "site")
    clean_values, clean_logits = runs.recorded_run(model, forward.input_ids, site)
    corrupted_values, corrupted_logits = runs.recorded_run(model, corrupted, site)
    answer, wrong, chosen, notes = chosen_tokens(model, options, clean_logits, corrupted_logits)
    notes = replaced + notes

    def metric(logits: torch.Tensor) -> torch.Tensor:
        return metric_values(logits, options["metric"], answer, wrong)

    clean_metric = float(metric(clean_logits[None])[0])
    corrupted_metric = float(metric(corrupted_logits[None])[0])
    gap = clean_metric - corrupted_metric
    quantity = _quantity(model, options["metric"], answer, wrong)
    if abs(gap) <= SAME * (1 + abs(clean_metric) + abs(corrupted_metric)):
        raise AnalysisError(f"nothing to recover: {quantity} is {clean_metric:.6g} on the clean prompt and on the "
                            "corrupted one alike; corrupt the prompt so that the answer changes (or name another "
                            "answer or wrong token)")
    items = [restorable(site, c, r, n_heads) for c, r in zip(clean_values, corrupted_values, strict=True)]
    passes = len(batches(items))
    columns = n_heads if site.reads_input else n
    log.info("patching the %s, %d tokens: %d forward passes for %d of the %d cells (%d a pass; the others restore "
             "what the corrupted run holds already), after the clean and corrupted runs", site.name, n, passes,
             sum(map(len, items)), len(items) * columns, BATCH)
    patched = patched_grid(model, site, clean_values, corrupted, items, metric, corrupted_metric, n_heads)
    recovery = [[(value - corrupted_metric) / gap for value in row] for row in patched]
    best = max(((value, row, column) for row, values in enumerate(recovery) for column, value in enumerate(values)),
               key=lambda cell: cell[0])
    return {
        "prompt": options["prompt"],
        "corrupted": text,
        "tokens": forward.tokens,
        "input_ids": list(forward.input_ids),
        "corrupted_tokens": model.token_texts(corrupted),
        "corrupted_ids": corrupted,
        "changed": [i for i, (a, b) in enumerate(zip(forward.input_ids, corrupted, strict=True)) if a != b],
        "site": site.name,
        "metric": options["metric"],
        "quantity": quantity,
        "chosen": chosen,
        "answer": {"id": answer, "token": model.token_texts([answer])[0]},
        "wrong": None if wrong is None else {"id": wrong, "token": model.token_texts([wrong])[0]},
        "clean_metric": clean_metric,
        "corrupted_metric": corrupted_metric,
        "layers": site.layers,
        "columns": "head" if site.reads_input else "position",
        "patched": patched,
        "recovery": recovery,
        "best": {"layer": site.layers[best[1]], "column": best[2], "recovery": best[0]},
        "forward_passes": 2 + passes,
        "notes": notes,
    }


def _width(site: runs.Site) -> int:
    """The width of the heads side by side: the attention output projection's input."""
    return int(architecture.projection_weight(site.modules[0]).shape[0])


def _quantity(model: LoadedModel, metric: str, answer: int, wrong: int | None) -> str:
    """The metric in words, with its tokens: logit(' Paris') − logit(' Rome') at the last position."""
    texts = model.token_texts([answer] + ([wrong] if wrong is not None else []))
    if metric == "prob":
        return f"p('{texts[0]}') at the last position"
    return f"logit('{texts[0]}') − logit('{texts[1]}') at the last position"
