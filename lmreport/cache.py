"""Results stored under a hash of everything that changes them, never of lesson prose."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .render.common import Figure
from .result import Result
from .versions import library_versions

log = logging.getLogger("lmreport")
T = TypeVar("T")
CACHE_FORMAT = 1
RENDER_FORMAT = 4  # bump when a renderer changes what it draws


def result_key(model_identity: dict[str, str], analysis: str, analysis_version: str, options: dict[str, Any]) -> str:
    """sha256 over model identity, analysis name and code version, options and library versions."""
    versions = library_versions()
    material = {
        "format": CACHE_FORMAT,
        "model": model_identity,
        "analysis": analysis,
        "analysis_version": analysis_version,
        "options": options,
        "torch": versions["torch"],
        "transformers": versions["transformers"],
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def figure_key(result: str, figure_id: str) -> str:
    """Key of a rendered figure: its result, its id on the page, and the code and libraries that draw it."""
    versions = library_versions()
    material = [RENDER_FORMAT, result, figure_id, versions["lmreport"], versions["bokeh"], versions["bertviz"]]
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()


class ResultCache:
    """A folder of JSON files, one per result; a bad entry is a warning and a recompute."""

    def __init__(self, folder: Path, enabled: bool = True):
        self.folder = Path(folder)
        self.enabled = enabled

    def _path(self, key: str, kind: str = "") -> Path:
        return self.folder / kind / key[:2] / f"{key}.json"

    def get(self, key: str) -> Result | None:
        """The result stored under result_key(); None when absent or unreadable."""
        return self._read(key, "", lambda entry: Result.from_dict(entry["result"]), "recomputing")

    def put(self, key: str, result: Result) -> None:
        self._write(self._path(key), {"key": key, "result": result.to_dict()})

    def get_figure(self, key: str) -> Figure | None:
        """A rendered fragment stored under figure_key(); None when absent or unreadable."""
        return self._read(key, "figures", lambda e: Figure(html=e["html"], assets=set(e["assets"])), "rendering again")

    def put_figure(self, key: str, figure: Figure) -> None:
        self._write(self._path(key, "figures"), {"key": key, "html": figure.html, "assets": sorted(figure.assets)})

    def _read(self, key: str, kind: str, parse: Callable[[dict[str, Any]], T], then: str) -> T | None:
        if not self.enabled:
            return None
        path = self._path(key, kind)
        if not path.exists():
            return None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            if entry.get("key") != key:
                raise ValueError("entry does not match its key")
            return parse(entry)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            log.warning("cache entry %s is unreadable (%s); %s", path, e, then)
            return None

    def _write(self, path: Path, entry: dict[str, Any]) -> None:
        """Write atomically, so a killed build or a second build never leaves half a file."""
        if not self.enabled:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(entry, f)
            os.replace(tmp, path)
        except OSError as e:
            log.warning("could not write cache entry %s: %s", path, e)
