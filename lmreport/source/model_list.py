"""A model matrix: the models one build renders the course for, each into its own folder of the site.

The course config (course.yml) may list them; `--model` given once or more on the command line replaces the
list. The first model's pages are the site's root; each other model gets a folder named after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmreport.errors import LessonError, control_character, short

MODEL_KEYS = ("model", "label", "folder")


RESERVED_FOLDERS = {"assets", "data", "compare", "index"}  # names the site itself uses


MAX_MODELS = 16


FOLDER_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,59}")


@dataclass(frozen=True)
class ModelEntry:
    """One model of the matrix as the course or the command line names it."""

    spec: str | None  # None: the embedded default
    label: str | None = None  # shown in the model switcher (default: the model's name)
    folder: str | None = None  # the site folder of its pages (default: made from the model's name)


def parse_models(value: Any, path: Path, line: int, key_lines: dict[str, int] | None = None
                 ) -> tuple[list[ModelEntry], list[LessonError]]:
    """course.yml's `models:`: a list whose items are a model (alias, folder, .gguf file or hub id) or a
    mapping {model, label, folder}."""
    if not isinstance(value, list) or not value:
        return [], [LessonError(path, line, "'models' in course.yml must be a list of models, one per line "
                                            "starting with '- ' (e.g. '- smollm2')")]
    if len(value) > MAX_MODELS:
        return [], [LessonError(path, line, f"'models' lists {len(value)} models; at most {MAX_MODELS}")]
    entries: list[ModelEntry] = []
    errors: list[LessonError] = []
    for number, item in enumerate(value, 1):
        where = f"model {number} of 'models'"
        fields = item if isinstance(item, dict) else {"model": item}
        unknown = [str(k) for k in fields if k not in MODEL_KEYS]
        if unknown:
            errors.append(LessonError(path, line, f"{where}: unknown key '{short(unknown[0], 40)}' "
                                                  f"(valid: {', '.join(MODEL_KEYS)})"))
            continue
        problem = next((f"'{k}' must be text" for k in MODEL_KEYS
                        if k in fields and (not isinstance(fields[k], str) or not fields[k].strip())), None)
        if problem is None and "model" not in fields:
            problem = "'model' is missing"
        if problem is None:
            bad = next((control_character(v) for v in fields.values() if control_character(v)), None)
            problem = f"contains the control character U+{ord(bad):04X}" if bad else None
        if problem is None and "folder" in fields and not valid_folder(fields["folder"]):
            problem = f"folder '{short(fields['folder'], 60)}' {folder_rule()}"
        if problem is not None:
            errors.append(LessonError(path, line, f"{where}: {problem}"))
            continue
        entries.append(ModelEntry(fields["model"].strip(), fields.get("label"), fields.get("folder")))
    return entries, errors


def valid_folder(name: str) -> bool:
    return bool(FOLDER_RE.fullmatch(name)) and name not in RESERVED_FOLDERS


def folder_rule() -> str:
    return (f"must be lower-case letters, digits, '-' and '_' (at most 60), and none of "
            f"{', '.join(sorted(RESERVED_FOLDERS))}")


def folder_from_name(name: str) -> str:
    """A site folder made from a model's name: 'SmolLM2-135M-Instruct.Q4_1' -> 'smollm2-135m-instruct-q4_1'."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")[:60] or "model"
    return slug if valid_folder(slug) else f"model-{slug}"[:60]


def assign_folders(names: list[str], asked: list[str | None]) -> list[str]:
    """The site folder of each model: '' (the site's root) for the first, then the folder asked for or one made
    from the model's name, numbered when two would clash."""
    folders = [""]
    for name, wanted in zip(names[1:], asked[1:], strict=True):
        base = wanted or folder_from_name(name)
        folder, n = base, 2
        while folder in folders:
            folder, n = f"{base}-{n}", n + 1
        folders.append(folder)
    return folders
