"""Versions of the libraries a result depends on, read without importing them."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version

LIBRARIES = ("lmreport", "torch", "transformers", "bokeh", "bertviz")


@cache
def library_versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
