"""The probe's labelled prompts: the `examples` option, a mapping label -> prompts, as a course author writes it

    examples:
      singular: ["The dog", "The key to the cabinets"]
      plural: ["The dogs", "The keys to the cabinet"]

parsed into (label, prompts) pairs in the order written. Pairs, not a mapping: the result key hashes options with
sorted keys, and the order of the classes is part of the result (its label numbers, its colours)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmreport.analyses.options import Option, OptionError, check_text
from lmreport.errors import short, short_repr

MAX_PROMPTS = 400  # a probe is fitted folds × 2 times per layer: hundreds of prompts stay within seconds
MAX_LABEL_CHARS = 40  # a label is a legend entry and a column of the CSV
MAX_EXAMPLE_CHARS = 1_000  # a probe reads short prompts; a long text is more likely a mistake
MIN_PER_CLASS = 2  # the fewest folds; compute() holds each class to the block's own number of folds

EXAMPLE = '{singular: ["The dog", "The key"], plural: ["The dogs", "The keys"]}'

@dataclass(frozen=True)
class ExamplesOption(Option):
    """An option whose value maps each label to its prompts (no other option type is a mapping)."""

    def parse(self, value: Any) -> list[list[Any]]:
        pairs = _pairs(value)
        given = sum(len(prompts) if isinstance(prompts, list) else 1 for _, prompts in pairs)
        if given > MAX_PROMPTS:  # before looking at each: a mistaken include may hold millions
            raise OptionError(f"gives {given:,} prompts; at most {MAX_PROMPTS}")
        if len(pairs) < 2:
            named = ", ".join(short_repr(label, 40) for label, _ in pairs) or "none"
            raise OptionError(f"names {len(pairs)} label{'' if len(pairs) == 1 else 's'} ({named}); a probe needs "
                              f"at least 2 classes, e.g. {EXAMPLE}")
        seen: dict[str, str] = {}
        parsed = []
        for label, prompts in pairs:
            _check_label(label)
            prompts = _prompts_of(label, prompts)
            for prompt in prompts:
                if prompt in seen:
                    where = f"twice under {label!r}" if seen[prompt] == label else \
                        f"under both {seen[prompt]!r} and {label!r}"
                    raise OptionError(f"gives the prompt {short(prompt, 60)!r} {where}: each prompt once")
                seen[prompt] = label
            parsed.append([label, prompts])
        return parsed


def _pairs(value: Any) -> list[tuple[Any, Any]]:
    """The (label, prompts) pairs of a mapping, or of the pairs parse() gives (so that parsing is idempotent)."""
    if isinstance(value, (dict, list)) and len(value) > MAX_PROMPTS // MIN_PER_CLASS:
        raise OptionError(f"names {len(value):,} labels; at most {MAX_PROMPTS // MIN_PER_CLASS} (each class needs "
                          f"{MIN_PER_CLASS} prompts or more, {MAX_PROMPTS} in all at most)")
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in value):
        seen: list[Any] = []
        for label, _ in value:
            if label in seen:
                raise OptionError(f"names the label {short_repr(label, 40)} twice")
            seen.append(label)
        return [(p[0], p[1]) for p in value]
    raise OptionError(f"must map each label to its prompts, e.g. {EXAMPLE}; got {short_repr(value)}")


def _check_label(label: Any) -> None:
    if not isinstance(label, str):
        raise OptionError(f"has the label {short_repr(label, 40)}, which is not text: put it in quotes")
    if not label.strip():
        raise OptionError("has an empty label")
    try:
        check_text(label, MAX_LABEL_CHARS)
    except OptionError as e:
        raise OptionError(f"has a label that {e}") from None


def _prompts_of(label: str, prompts: Any) -> list[str]:
    if isinstance(prompts, str):
        prompts = [prompts]
    if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
        raise OptionError(f"must give {label!r} a list of prompts (text), got {short_repr(prompts)}")
    if len(prompts) < MIN_PER_CLASS:
        raise OptionError(f"gives {label!r} {len(prompts)} prompt{'' if len(prompts) == 1 else 's'}; each class "
                          f"needs at least {MIN_PER_CLASS} (and at least as many as the folds)")
    for number, prompt in enumerate(prompts, 1):
        if not prompt.strip():
            raise OptionError(f"gives {label!r} an empty prompt (number {number})")
        try:
            check_text(prompt, MAX_EXAMPLE_CHARS)
        except OptionError as e:
            raise OptionError(f"prompt {number} of {label!r} {e}") from None
    return list(prompts)


def labelled(examples: list[list[Any]]) -> tuple[list[str], list[str], list[int]]:
    """The parsed option as (labels, every prompt in the order written, each prompt's label number)."""
    labels = [label for label, _ in examples]
    prompts = [p for _, ps in examples for p in ps]
    classes = [c for c, (_, ps) in enumerate(examples) for _ in ps]
    return labels, prompts, classes
