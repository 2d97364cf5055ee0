"""Prompt ablation: the same next-token question asked of systematic variants of a prompt.

The author gives a base prompt and either variants, or a rule that makes them: drop each word, drop each token,
replace one word with each of a list, put each of a list of prefixes before it, or shuffle its words (seeded).
For every variant: the probability and rank of the named tokens after the last position, the top tokens, and
the KL divergence of its next-token distribution from the base prompt's, sorted by that divergence. All
variants go through the model in padded batches (the attention mask keeps the padding out; a test checks the
numbers equal one unbatched pass per variant).
"""

from __future__ import annotations

from typing import Any

from lmreport.analyses.common import candidate_ids
from lmreport.errors import AnalysisError
from lmreport.models.forward import ForwardPass, LoadedModel

RULES = ("variants", "drop_word", "drop_token", "replace", "prefix", "shuffle")


BATCH = 16


MAX_VARIANTS = 64


def make_variants(model: LoadedModel, forward: ForwardPass, options: dict[str, Any]) -> list[dict[str, Any]]:
    """Each variant: its text, its token ids, and the span of the base prompt it changed (start, end, new)."""
    prompt = options["prompt"]
    rule = options["rule"]
    out: list[dict[str, Any]] = []
    if rule == "variants":
        if not options["variants"]:
            raise AnalysisError("rule 'variants' needs a list of variants", "variants")
        for text in options["variants"]:
            out.append({"text": text, "ids": model.encode(text), "change": None})
    elif rule == "drop_word":
        words = _words(prompt)
        if len(words) < 2:
            raise AnalysisError("the prompt has one word: nothing to drop", "prompt")
        for start, end in words:
            text = prompt[:start] + prompt[end:]
            out.append({"text": text, "ids": model.encode(text), "change": [start, end, ""]})
    elif rule == "drop_token":
        ids = forward.input_ids
        if len(ids) < 2:
            raise AnalysisError("the prompt is one token: nothing to drop", "prompt")
        spans = _token_spans(model, prompt, ids)
        for i in range(len(ids)):
            kept = ids[:i] + ids[i + 1:]
            # the text the kept tokens spell (a character split over two tokens, one dropped, shows as �), and
            # the characters of the prompt the dropped token was part of
            out.append({"text": model.tokenizer.decode(kept, skip_special_tokens=True), "ids": kept,
                        "change": [*spans[i], ""], "token_change": True})
    elif rule == "prefix":
        if not options["with"]:
            raise AnalysisError("rule 'prefix' needs 'with': the texts to put before the prompt", "with")
        for new in options["with"]:
            out.append({"text": new + prompt, "ids": model.encode(new + prompt), "change": [0, 0, new]})
    elif rule == "shuffle":
        for text in _shuffles(prompt, options["count"], options["seed"]):
            out.append({"text": text, "ids": model.encode(text), "change": None})
    else:  # replace
        word = options["word"]
        if not word or not options["with"]:
            raise AnalysisError("rule 'replace' needs 'word' (in the prompt) and 'with' (a list)", "word")
        at = prompt.find(word)
        if at < 0:
            raise AnalysisError(f"{word!r} is not in the prompt", "word")
        for new in options["with"]:
            text = prompt[:at] + new + prompt[at + len(word):]
            out.append({"text": text, "ids": model.encode(text), "change": [at, at + len(word), new]})
    if len(out) > MAX_VARIANTS:
        raise AnalysisError(f"{len(out)} variants; at most {MAX_VARIANTS}", "rule")
    for variant in out:
        if not variant["ids"]:
            raise AnalysisError(f"the variant {variant['text']!r} gives no tokens", "rule")
    return out


def _shuffles(prompt: str, count: int, seed: int) -> list[str]:
    """Up to `count` different orders of the prompt's words (not the prompt's own), drawn with a fixed seed."""
    import random

    words = prompt.split()
    if len(set(words)) < 2:
        raise AnalysisError("the prompt has fewer than two different words: nothing to shuffle", "prompt")
    draw = random.Random(seed)
    seen, out = {" ".join(words)}, []
    for _ in range(50 * count):
        order = words[:]
        draw.shuffle(order)
        text = " ".join(order)
        if text not in seen:
            seen.add(text)
            out.append(text)
            if len(out) == count:
                break
    return out


def _words(text: str) -> list[tuple[int, int]]:
    """(start, end) of each word with the spaces before it: 'The capital' -> [(0, 3), (3, 11)]."""
    import re

    return [(m.start(), m.end()) for m in re.finditer(r"\s*\S+", text)]


def _token_spans(model: LoadedModel, prompt: str, ids: list[int]) -> list[tuple[int, int]]:
    """The characters of the prompt each token stands for (start, end): from a fast tokenizer's offsets, else by
    decoding ever longer prefixes. A special token added to the prompt (a beginning-of-text marker) stands for
    none; the tokens of one character split into bytes each stand for that character."""
    tokenizer = model.tokenizer
    if getattr(tokenizer, "is_fast", False):
        encoded = tokenizer(prompt, return_offsets_mapping=True)
        if list(encoded["input_ids"]) == list(ids):
            return [(max(0, min(a, len(prompt))), max(0, min(b, len(prompt)))) for a, b in encoded["offset_mapping"]]
    ends = [0]
    for i in range(1, len(ids) + 1):
        text = tokenizer.decode(ids[:i], skip_special_tokens=True)
        # a prefix that ends inside a character decodes it as one replacement character
        ends.append(min(len(prompt), max(ends[-1], len(text.rstrip("\ufffd")))))
    spans = []
    for i in range(len(ids)):
        start, end = ends[i], ends[i + 1]
        if start == end and ends[-1] > end:  # part of a character that the next tokens finish
            end = next(e for e in ends[i + 1:] if e > start)
        spans.append((start, end))
    return spans


def next_token_log_probs(model: LoadedModel, sequences: list[list[int]]) -> Any:
    """Log-probabilities of the next token after each sequence [n, vocab] (float64), in right-padded batches:
    the attention mask hides the padding, and each row is read at its own last token."""
    import torch

    rows = []
    pad = 0
    with torch.no_grad():
        for start in range(0, len(sequences), BATCH):
            chunk = sequences[start:start + BATCH]
            width = max(len(s) for s in chunk)
            ids = torch.tensor([s + [pad] * (width - len(s)) for s in chunk], device=model.device)
            mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in chunk], device=model.device)
            logits = model.model(input_ids=ids, attention_mask=mask).logits
            last = torch.tensor([len(s) - 1 for s in chunk], device=model.device)
            picked = logits[torch.arange(len(chunk), device=model.device), last].double().cpu()
            rows.append(torch.log_softmax(picked, dim=-1))
            model.forward_count += 1
    return torch.cat(rows)


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    import torch

    model.require_lm_head("ablation")
    targets = candidate_ids(model, options["tokens"])
    variants = make_variants(model, forward, options)
    log_probs = next_token_log_probs(model, [forward.input_ids] + [v["ids"] for v in variants])
    base = log_probs[0]
    k = options["k"]
    rows = []
    for i, (variant, lp) in enumerate(zip([{"text": options["prompt"], "ids": forward.input_ids, "change": None}]
                                          + variants, log_probs, strict=True)):
        kl = float((base.exp() * (base - lp)).sum())
        top = torch.topk(lp, k)
        rows.append({
            "index": i,
            "text": variant["text"],
            "change": variant["change"],
            "n_tokens": len(variant["ids"]),
            "kl": max(kl, 0.0),
            "targets": [{"token": t, "prob": float(lp[tid].exp()), "rank": int((lp > lp[tid]).sum()) + 1}
                        for t, tid in zip(options["tokens"], targets, strict=True)],
            "top": [{"token": tok, "prob": float(p)}
                    for tok, p in zip(model.token_texts(top.indices.tolist()), top.values.exp().tolist(),
                                      strict=True)],
        })
    order = [0] + sorted(range(1, len(rows)), key=lambda i: -rows[i]["kl"])
    return {"prompt": options["prompt"], "rule": options["rule"], "tokens": options["tokens"],
            "rows": rows, "order": order}
