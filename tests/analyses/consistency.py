"""Helpers of the consistency tests: a real result, checked; and crafted changes of it, each of the declared shape
(the schema alone accepts it) yet refused by the analysis's consistency check, naming what disagrees."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from lmreport import analyses
from lmreport.analyses.schema import ResultShapeError, checker


def checked(name: str, loaded, **options) -> dict[str, Any]:
    """A real result of analysis `name` on a tiny model, which its checks (shape and consistency) accept."""
    spec = analyses.get(name)
    parsed = spec.parse_options(options)
    data = spec.run(loaded.forward(spec.prompts(parsed)[0]), parsed, loaded)
    spec.check(data)
    assert spec.consistent is not None and spec.consistent(data) == []
    return data


def refused(name: str, data: dict[str, Any], change: Callable[[dict[str, Any]], Any], named: str = "") -> None:
    """data changed by `change` (on a copy) still has the declared shape, but is refused as not consistent, the
    message naming `named`."""
    spec = analyses.get(name)
    bad = copy.deepcopy(data)
    change(bad)
    checker(spec.schema)(bad)  # of the declared shape: only the consistency check can refuse it
    with pytest.raises(ResultShapeError, match=f"not consistent .*{re.escape(named)}"):
        spec.check(bad)
