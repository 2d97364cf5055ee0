"""Random results of each analysis's declared shape, as a results folder from another machine may hold: each is
refused by its checks, or drawn with no markup landing raw, or fails to draw with an error the build turns into a
clear message at the block (never a hang, a MemoryError or another traceback). Bounded: a few hundred draws."""

from __future__ import annotations

import random
import re
import typing

import pytest
from typing_extensions import NotRequired, is_typeddict

from lmreport import analyses
from lmreport.analyses.schema import ResultShapeError
from lmreport.build.draw import UNDRAWABLE
from lmreport.result import Result

HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"
SEEDS = 12
LOOKUPS = {"views": ["head", "model", "heatmap"], "focus": ["first", "previous"], "name": ["saliency", "occlusion"]}


def draw(kind, rng: random.Random, key: str = "", depth: int = 0):
    """A random value of a type annotation: short lists, small numbers, texts with markup."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is typing.Annotated:
        return draw(args[0], rng, key, depth)
    if origin is NotRequired or origin is typing.NotRequired:
        return draw(args[0], rng, key, depth)
    if is_typeddict(kind):
        hints = typing.get_type_hints(kind, include_extras=True)
        optional = getattr(kind, "__optional_keys__", frozenset())
        return {name: draw(hint, rng, name, depth + 1) for name, hint in hints.items()
                if name not in optional or rng.random() < 0.5}
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return draw(rng.choice(args), rng, key, depth)
    if origin is list:
        return [draw(args[0], rng, key, depth + 1) for _ in range(rng.randint(0, 3 if depth < 4 else 1))]
    if origin is tuple:
        return [draw(a, rng, key, depth + 1) for a in args]
    if origin is dict:
        return {f"{HOSTILE}{i}": draw(args[1], rng, key, depth + 1) for i in range(rng.randint(0, 2))}
    if origin is typing.Literal:
        return rng.choice(args)
    if kind is type(None):
        return None
    if kind is bool:
        return rng.random() < 0.5
    if kind is int:
        return rng.randint(-2, 6)
    if kind is float:
        return rng.choice([0.0, 1.0, -1.5, 1e-9, rng.random()])
    if kind is str:
        return rng.choice(LOOKUPS[key]) if key in LOOKUPS and rng.random() < 0.8 else rng.choice(["", "a", HOSTILE])
    raise AssertionError(f"no drawing for {kind!r}")


@pytest.mark.filterwarnings("ignore::UserWarning")  # Bokeh warns of the columns of different lengths it is given
@pytest.mark.parametrize("name", analyses.NAMES)
def test_random_results_of_the_declared_shape_are_refused_drawn_safely_or_a_clear_error(name):
    analysis = analyses.get(name)
    outcomes = {"refused": 0, "drawn": 0, "undrawable": 0}
    for seed in range(SEEDS):
        data = draw(analysis.schema, random.Random(f"{name}-{seed}"))
        try:
            analysis.check(data)
        except ResultShapeError:
            outcomes["refused"] += 1  # a consistency check said what disagrees
            continue
        try:
            html = analyses.render(Result(name, {}, {"name": "m", "kind": "dir", "revision": "r"}, data),
                                   "fig-1").html
        except UNDRAWABLE:
            outcomes["undrawable"] += 1
            continue
        outcomes["drawn"] += 1
        assert re.findall(r"<img src=x|<script>alert", html) == [], seed
    assert sum(outcomes.values()) == SEEDS
    if analysis.consistent is None:  # the drawings are of the declared shape: only a consistency check refuses
        assert outcomes["refused"] == 0
