"""Versions of the libraries a result depends on, read without importing them."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version

LIBRARIES = ("lmreport", "torch", "transformers", "bokeh", "bertviz")


@cache
def package_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Each installed distribution's version ("not installed" for one that is not)."""
    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def library_versions() -> dict[str, str]:
    return package_versions(LIBRARIES)
