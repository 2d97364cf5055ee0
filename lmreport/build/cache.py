"""Results stored under a hash of everything that changes them, never of lesson prose."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from lmreport import analyses
from lmreport.errors import LmreportError, short
from lmreport.models import kernels
from lmreport.result import Result, json_type
from lmreport.site.assets import group_scripts
from lmreport.versions import library_versions
from lmreport.views.figure import Figure

log = logging.getLogger("lmreport")


T = TypeVar("T")


# 2: every entry carries a checksum of its payload; 3: results carry the model's sizes; 4: results have their
# analysis's declared shape, and keys hash the compute code
CACHE_FORMAT = 4


RENDER_FORMAT = 6  # bump when a renderer changes what it draws (5: checksummed entries; 6: keyed by content)


CHECKSUM_FIELD = "sha256"


def checksum(payload: dict[str, Any]) -> str:
    """sha256 over the canonical JSON of an entry's payload (the entry without its checksum field)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def result_key(model_identity: dict[str, str], analysis: str, code_hash: str, options: dict[str, Any]) -> str:
    """sha256 over model identity, analysis name, the source of its compute code (Analysis.code_hash), options
    and library versions."""
    versions = library_versions()
    material = {
        "format": CACHE_FORMAT,
        "model": model_identity,
        "analysis": analysis,
        "code": code_hash,
        "options": options,
        "torch": versions["torch"],
        "transformers": versions["transformers"],
        "linear": kernels.asked(),  # the float32 linear's kernel (models/kernels.py): sums in another order
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


@functools.cache
def render_code() -> str:
    """A hash of the drawing code (the shared views and every analysis's view), so that a changed view redraws its
    figures even within one version (an editable install, a development checkout)."""
    package = Path(__file__).parent.parent
    digest = hashlib.sha256()
    for path in sorted([*package.glob("views/*.py"), *package.glob("analyses/*/view.py")]):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def figure_key(result: Result, figure_id: str) -> str:
    """Key of a rendered figure: what it draws (the result's content, not the key it was stored under: a result
    crafted in a results folder must never lend its drawing to the result computed later under the same key), its
    id on the page, and the code and libraries that draw it."""
    versions = library_versions()
    material = [RENDER_FORMAT, checksum(result.to_dict()), figure_id, versions["lmreport"], versions["bokeh"],
                versions["bertviz"], render_code()]
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()


def _fields(entry: dict[str, Any], names: tuple[str, ...]) -> None:
    if sorted(entry) != sorted(names):
        raise ValueError(f"the entry holds {', '.join(sorted(map(str, entry)))}, not {', '.join(sorted(names))}")


def _result_entry(entry: dict[str, Any]) -> Result:
    """A stored result, checked against the shape its analysis declares (ResultShapeError, a ValueError)."""
    _fields(entry, ("key", "result"))
    result = Result.from_dict(entry["result"])
    analysis = analyses.REGISTRY.get(result.analysis)
    if analysis is None:
        raise ValueError(f"the result is of an analysis this lmreport does not have ({short(result.analysis, 40)!r})")
    analysis.check(result.data)
    return result


def _figure_entry(entry: dict[str, Any]) -> Figure:
    _fields(entry, ("key", "html", "assets"))
    html, assets = entry["html"], entry["assets"]
    if not isinstance(html, str):
        raise TypeError(f"the figure's 'html' must be a string, not {json_type(html)}")
    if not isinstance(assets, list):
        raise TypeError(f"the figure's 'assets' must be an array, not {json_type(assets)}")
    known = group_scripts()
    for group in assets:
        if not isinstance(group, str) or group not in known:
            raise ValueError(f"the figure needs the unknown asset group {group!r} (known: {', '.join(known)})")
    return Figure(html=html, assets=set(assets))


def read_regular_file(path: Path, max_bytes: int | None = None) -> bytes:
    """The bytes of a plain file; a link, FIFO or device in its place is an error, not a hang, and so is a file
    larger than max_bytes."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("it is not a regular file")
        if max_bytes is not None and info.st_size > max_bytes:
            raise ValueError(f"it is {info.st_size:,} bytes long; at most {max_bytes:,}")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    finally:
        os.close(fd)


class ResultCache:
    """A folder of JSON files, one per result; a bad entry is a warning and a recompute (strict: an error, for
    results another machine computed, where nothing can be recomputed).

    Each entry is {"key": ..., payload fields..., "sha256": checksum(everything else)}: an entry changed after
    it was written, or of the wrong shape (its analysis's declared schema), is never used."""

    def __init__(self, folder: Path, enabled: bool = True, strict: bool = False):
        self.folder = Path(folder)
        self.enabled = enabled
        self.strict = strict

    def _path(self, key: str, kind: str = "") -> Path:
        return self.folder / kind / key[:2] / f"{key}.json"

    def get(self, key: str) -> Result | None:
        """The result stored under result_key(); None when absent or unreadable."""
        return self._read(key, "", _result_entry, "recomputing")

    def put(self, key: str, result: Result) -> None:
        self._write(self._path(key), {"key": key, "result": result.to_dict()}, _result_entry)

    def get_figure(self, key: str) -> Figure | None:
        """A rendered fragment stored under figure_key(); None when absent or unreadable."""
        return self._read(key, "figures", _figure_entry, "rendering again")

    def put_figure(self, key: str, figure: Figure) -> None:
        entry = {"key": key, "html": figure.html, "assets": sorted(figure.assets)}
        self._write(self._path(key, "figures"), entry, _figure_entry)

    def _read(self, key: str, kind: str, parse: Callable[[dict[str, Any]], T], then: str) -> T | None:
        if not self.enabled:
            return None
        path = self._path(key, kind)
        if not os.path.lexists(path):
            return None
        try:
            entry = json.loads(read_regular_file(path).decode("utf-8"))
            if not isinstance(entry, dict):
                raise TypeError(f"the entry must be an object, not {json_type(entry)}")
            if entry.get("key") != key:
                raise ValueError("entry does not match its key")
            stored = entry.pop(CHECKSUM_FIELD, None)
            if not isinstance(stored, str):
                raise ValueError(f"the entry has no '{CHECKSUM_FIELD}' checksum")
            if stored != checksum(entry):
                raise ValueError("the entry does not match its checksum: it was changed after it was written")
            return parse(entry)
        # UnicodeDecodeError: bytes that are not UTF-8; RecursionError: JSON nested too deep to read.
        except (OSError, ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError, RecursionError) as e:
            if self.strict:
                raise LmreportError(f"the results entry {path} cannot be used ({e}): compute it again with "
                                    "--results-only") from None
            log.warning("cache entry %s is unreadable (%s); %s", path, e, then)
            return None

    def _write(self, path: Path, payload: dict[str, Any], check: Callable[[dict[str, Any]], Any]) -> None:
        """Write atomically, so a killed build or a second build never leaves half a file; an entry that
        would not read back (wrong shape, not JSON) is not written."""
        if not self.enabled:
            return
        try:
            check(payload)
            text = json.dumps({**payload, CHECKSUM_FIELD: checksum(payload)})
        except (TypeError, ValueError, RecursionError) as e:  # wrong shape, not JSON, or text not valid Unicode
            log.warning("could not write cache entry %s: %s", path, e)
            return
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        except OSError as e:  # a full disk: no half-written file is left behind
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            log.warning("could not write cache entry %s: %s", path, e)
