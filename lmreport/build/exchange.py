"""Results computed on one machine and rendered on another.

`lmreport build --results-only DIR` writes every result the build needs into DIR/results (entries of the
result cache's checksummed form) and DIR/models.json: which models the results are for, each with the
identity its results are keyed by. `lmreport build --from-results DIR...` reads one or more such folders and
renders the site without finding or loading any model: a CI matrix computes one model per job, and a last
job renders them all.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, with_config
from typing_extensions import NotRequired, TypedDict

from lmreport import models
from lmreport.analyses.schema import STRICT, ResultShapeError, checker
from lmreport.build.cache import ResultCache, read_regular_file
from lmreport.errors import LmreportError, short
from lmreport.result import Result
from lmreport.source.model_list import MAX_MODELS
from lmreport.versions import library_versions

MANIFEST = "models.json"
MAX_MANIFEST_BYTES = 1 << 20
MAX_SOURCES = 4 * MAX_MODELS  # the matrix's models, and those blocks name for themselves


class ManifestSource(TypedDict):
    name: str
    kind: Literal["gguf", "dir", "hub"]
    revision: str
    path: NotRequired[str]
    gguf_file: NotRequired[str]


@with_config(STRICT)
class Manifest(TypedDict):
    """models.json: which models a results folder holds results for, as the build that wrote it found them."""

    format: int
    matrix: Annotated[list[str], Field(max_length=MAX_MODELS)]  # as many models as course.yml may list
    sources: Annotated[dict[str, ManifestSource], Field(max_length=MAX_SOURCES)]
    dtype: Literal["float32", "bfloat16", "float16"]
    versions: NotRequired[dict[str, str]]


check_manifest = checker(Manifest, "it")


FORMAT = 1


@dataclass
class ResultsFolders:
    """Results read from --from-results folders: the models they name, and their entries."""

    folders: list[Path]
    sources: dict[str, models.ModelSource] = field(default_factory=dict)  # spec -> identity
    matrix: list[str] = field(default_factory=list)  # the models each folder was computed for, in order
    dtype: str = "float32"
    caches: list[ResultCache] = field(default_factory=list)

    def resolve(self, spec: str | None) -> models.ModelSource:
        """A model as the results name it; a model no folder has results for is an error naming the folders."""
        spec = spec or models.DEFAULT_MODEL
        if spec in self.sources:
            return self.sources[spec]
        names = ", ".join(sorted(self.sources)) or "none"
        raise LmreportError(f"no results for model '{short(spec, 80)}' in {self.where()} (they have: {names}); "
                            f"compute them with: lmreport build --model {short(spec, 80)} --results-only DIR")

    def get(self, key: str) -> Result | None:
        return next((r for r in (c.get(key) for c in self.caches) if r is not None), None)

    def where(self) -> str:
        return ", ".join(f"'{f}'" for f in self.folders)


def read(folders: list[Path]) -> ResultsFolders:
    """The manifests of every folder, checked to agree with each other and with this lmreport."""
    out = ResultsFolders([Path(f) for f in folders])
    dtypes = set()
    for folder in out.folders:
        manifest = _manifest(folder)
        dtypes.add(manifest["dtype"])
        for spec, fields in manifest["sources"].items():
            source = models.ModelSource(spec, fields["name"], fields["kind"], Path(fields.get("path", ".")),
                                        fields["revision"], fields.get("gguf_file"))
            known = out.sources.get(spec)
            if known is not None and known.key != source.key:
                raise LmreportError(f"'{folder}' and another results folder hold different models under the name "
                                    f"'{short(spec, 80)}' ({known.key} and {source.key})")
            out.sources[spec] = source
        out.matrix += [spec for spec in manifest["matrix"] if spec not in out.matrix]
        out.caches.append(ResultCache(folder / "results", strict=True))
    if len(dtypes) > 1:
        raise LmreportError(f"the results folders were computed in different precisions ({', '.join(sorted(dtypes))})")
    out.dtype = dtypes.pop() if dtypes else "float32"
    return out


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not folder.is_dir():
        raise LmreportError(f"results folder '{folder}' does not exist")
    try:
        data = json.loads(read_regular_file(path, MAX_MANIFEST_BYTES).decode("utf-8"))
    except FileNotFoundError:
        raise LmreportError(f"'{folder}' holds no {MANIFEST}: it was not written by "
                            "'lmreport build --results-only'") from None
    except (OSError, ValueError, RecursionError) as e:  # a link, a FIFO, too large, not JSON, not UTF-8
        raise LmreportError(f"cannot read {path}: {e}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise LmreportError(f"{path} is not a results manifest of format {FORMAT}")
    try:
        check_manifest(data)
    except ResultShapeError as e:
        raise LmreportError(f"{path} is malformed: {e}") from None
    versions = library_versions()
    made = data.get("versions", {})
    if isinstance(made, dict) and any(made.get(k) != versions[k] for k in ("torch", "transformers")):
        raise LmreportError(f"{path}: results computed with torch {made.get('torch')} and transformers "
                            f"{made.get('transformers')}, this lmreport runs torch {versions['torch']} and "
                            f"transformers {versions['transformers']}: results are keyed by both; compute them "
                            "again with the same versions")
    return data


def check_folder(folder: Path) -> None:
    """--results-only writes into an empty folder or one it wrote before, never over other files."""
    if folder.exists() and (not folder.is_dir() or (any(folder.iterdir()) and not (folder / MANIFEST).exists())):
        raise LmreportError(f"results folder '{folder}' exists, is not empty and holds no {MANIFEST}; "
                            "not writing into it")


def write(folder: Path, matrix: list[str], results: dict[str, tuple[models.ModelSource, str, Result]],
          dtype: str) -> int:
    """Every result (key -> (model, its spec, result)) into folder/results, and the manifest; returns how many.
    A write that fails (a full disk) is a clear error and leaves the folder as usable as it was: empty again if
    this was its first write, its previous manifest and results otherwise."""
    check_folder(folder)
    first = not (folder / MANIFEST).exists()
    tmp = folder / f".{MANIFEST}.tmp-{os.getpid()}"
    try:
        return _write(folder, matrix, results, dtype, tmp)
    except (OSError, LmreportError) as e:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if first:
            shutil.rmtree(folder / "results", ignore_errors=True)
        kept = "it is left empty" if first else "its previous results are kept"
        raise LmreportError(f"could not write the results into '{folder}' ({getattr(e, 'strerror', None) or e}); "
                            f"{kept}") from None


def _write(folder: Path, matrix: list[str], results: dict[str, tuple[models.ModelSource, str, Result]],
           dtype: str, tmp: Path) -> int:
    cache = ResultCache(folder / "results")
    sources: dict[str, dict[str, str]] = {}
    for key, (source, spec, result) in results.items():
        cache.put(key, result)
        fields = {"name": source.name, "kind": source.kind, "revision": source.revision, "path": str(source.path)}
        sources[spec] = {**fields, **({"gguf_file": source.gguf_file} if source.gguf_file else {})}
    written = sum(1 for key in results if cache.get(key) is not None)
    if written != len(results):
        raise LmreportError(f"{written} of {len(results)} results written")
    versions = library_versions()
    manifest = {"format": FORMAT, "matrix": matrix, "sources": sources, "dtype": dtype,
                "versions": {k: versions[k] for k in ("lmreport", "torch", "transformers")}}
    tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)
    return written
