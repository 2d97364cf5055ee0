"""What hidden_map's points are, as its options say: the last (or `position`) token of each prompt of `prompts`,
of each prompt of `examples` (label: list of prompts, coloured by label), or every token of one `prompt`. The
options that only fit together are checked together, each problem at its option's line, before any model runs."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from lmreport.analyses.options import MAX_PROMPT_CHARS, Option, OptionError, check_text
from lmreport.analyses.spec import Analysis
from lmreport.errors import short_repr

MAX_POINTS = 128  # prompts of `prompts` or `examples`: each is a forward pass and a labelled point
MAX_TOKENS = 256  # tokens of one `prompt`: a point each
MAX_LABELS = 10  # one colour each (Category10)
MAX_LABEL_CHARS = 60
MIN_NONLINEAR_POINTS = 5  # t-SNE's perplexity must stay below the number of points; fewer say nothing anyway
SOURCES = ("prompts", "examples", "prompt")
EXAMPLE = '{animal: ["The word is dog", "The word is cat"], colour: ["The word is red", "The word is blue"]}'


@dataclass(frozen=True)
class LabelledPrompts(Option):
    """A mapping label -> list of prompts, parsed into [[label, [prompts]], ...] in the author's order (a list of
    pairs, because a result's key is hashed with its mappings sorted, which would lose the order of the colours)."""

    def parse(self, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        if not isinstance(value, dict) or not value:
            raise OptionError(f"must map each label to a list of prompts, e.g. {EXAMPLE}; got {short_repr(value)}")
        if len(value) > MAX_LABELS:
            raise OptionError(f"names {len(value)} labels; at most {MAX_LABELS} (one colour each)")
        prompts = Option("examples", list, max_items=MAX_POINTS, max_chars=MAX_PROMPT_CHARS)
        pairs: list[list[Any]] = []
        seen: set[str] = set()
        for label, items in value.items():
            if not isinstance(label, str) or not label.strip():
                raise OptionError(f"has the label {short_repr(label)}: a label is text (put it in quotes)")
            check_text(label, MAX_LABEL_CHARS)
            try:
                parsed = prompts.parse(items)
            except OptionError as e:
                raise OptionError(f"label '{label}' {e}") from None
            twice = next((p for p in parsed if p in seen), None)
            if twice is not None:
                raise OptionError(f"lists the prompt {short_repr(twice)} under two labels: a point has one label")
            seen.update(parsed)
            pairs.append([label, parsed])
        if len(seen) > MAX_POINTS:
            raise OptionError(f"lists {len(seen)} prompts in all; at most {MAX_POINTS}")
        if len(seen) < 2:
            raise OptionError("lists one prompt: a map needs at least two points")
        return pairs

    def limits(self) -> str:
        return f"1 to {MAX_LABELS} labels, 2 to {MAX_POINTS} prompts in all"


def prompt_list(options: dict[str, Any]) -> list[str]:
    """The prompts of a block's points, in the order of its points (examples: label by label)."""
    if options.get("prompts") is not None:
        return list(options["prompts"])
    if options.get("examples") is not None:
        return [prompt for _, prompts in options["examples"] for prompt in prompts]
    if options.get("prompt") is not None:
        return [options["prompt"]]
    raise KeyError("hidden_map: no prompts, examples or prompt")


def problems_together(params: dict[str, Any], bad: set[str], count: int | None) -> list[tuple[str | None, str]]:
    """(option, message) for options that do not fit together; options in `bad` (which did not parse) are left
    to their own message. count: how many prompts prompts or examples list (None for prompt, or unparsed)."""
    given = [name for name in params if name in SOURCES and params[name] is not None]  # as written: the second errs
    if not given:
        return [(None, "hidden_map: give its points: prompts (a list: a point per prompt), examples (label: list "
                       "of prompts: a point per prompt, coloured by its label) or prompt (one prompt: a point per "
                       "token)")]
    if len(given) > 1:
        return [(given[1], f"hidden_map: give one of prompts, examples and prompt, not both {given[0]} and "
                           f"{given[1]}")]
    source, found = given[0], []
    if source == "prompt" and "position" in params:
        found.append(("position", "hidden_map: position picks the token of each prompt of prompts or examples; "
                                  "with prompt every token is a point (skip_first_token leaves the first out)"))
    if source != "prompt" and "skip_first_token" in params:
        found.append(("skip_first_token", "hidden_map: skip_first_token is for prompt (a point per token); with "
                                          f"{source} each prompt is one point, at its position"))
    method = params.get("method", "pca")
    if "seed" in params and method == "pca":
        found.append(("seed", "hidden_map: seed is for method tsne or umap: PCA has no randomness"))
    if method == "umap" and importlib.util.find_spec("umap") is None:
        found.append(("method", "hidden_map: method umap needs the package umap-learn, which is not installed: "
                                "pip install umap-learn (or use method tsne, which needs nothing more)"))
    if method in ("tsne", "umap") and count is not None and count < MIN_NONLINEAR_POINTS:
            found.append(("method", f"hidden_map: method {method} needs at least {MIN_NONLINEAR_POINTS} points; "
                                    f"the block has {count} (use pca)"))
    return [(name, message) for name, message in found if name not in bad]


@dataclass(frozen=True)
class HiddenMapAnalysis(Analysis):
    """The Analysis spec, with the prompts its points come from and the checks of options that go together (the
    spec's own checks are of one option at a time)."""

    def prompts(self, options: dict[str, Any]) -> list[str]:
        return prompt_list(options)

    def _with_defaults(self, params: dict[str, Any]) -> dict[str, Any]:
        options = super()._with_defaults(params)
        if options["examples"] is not None:  # the figure's header names the prompts of options["prompts"]
            options["prompts"] = prompt_list(options)
        return options

    def _problems(self, params: dict[str, Any], common: bool = False) -> list[tuple[str | None, str]]:
        problems = super()._problems(params, common)
        bad = {name for name, _ in problems if name is not None}
        count = None
        for name in ("prompts", "examples"):
            if params.get(name) is not None and name not in bad:
                count = len(prompt_list({name: self.option_map[name].parse(params[name])}))
        return problems + problems_together(params, bad, count)
