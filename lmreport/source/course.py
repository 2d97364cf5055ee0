"""course.yml: what each key holds, read and checked; model paths read from the file that names them."""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmreport import models
from lmreport.errors import LessonError, LmreportError, control_character, short
from lmreport.source import yamltext
from lmreport.source.lessons import normalise_text, read_text_file
from lmreport.source.model_list import ModelEntry, parse_models

COURSE_FILE = "course.yml"


@dataclass
class Course:
    """course.yml with the command line's settings over it: what the site says about itself, and the folders
    and models a build uses."""

    settings: dict[str, Any]
    errors: list[LessonError] = field(default_factory=list)
    warnings: list[LessonError] = field(default_factory=list)
    # each model course.yml names, as a build reads it: (course.yml, its line, the model as written there)
    named: dict[str, tuple[Path, int, str]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # each key's line in course.yml


# course.yml: what each key holds. Text keys are also settable on the command line (--title, --base-url...).
COURSE_KEYS = {
    "title": "the site's title",
    "description": "a line under the title on the start page",
    "author": "who wrote the course (pages name them)",
    "base_url": "where the site will be published (https://...): canonical links and sitemap.xml",
    "model": "the model for lessons that name none (the command line's --model wins)",
    "models": "a model matrix: several models, the first at the site's root",
    "output": "the site folder, from the lessons folder (the command line's -o wins)",
    "extra": "a folder whose files are copied into the site's top (CNAME, robots.txt...); default: extra",
    "playground": "a page where the reader runs the model on their own prompt, in the browser: the weights' format, "
                  "fp16 (or true), fp32 or int8; default off",
}


MAX_VALUE_CHARS = 4_096  # a title, a line of description, an author, a path: far less than course.yml holds
TEXT_KEYS = ("title", "description", "author", "base_url", "model", "output", "extra", "playground")
PLAYGROUND = ("fp16", "fp32", "int8", "off")


def course_value_problem(key: str, value: Any) -> str | None:
    """What is wrong with a course setting, whether course.yml, the command line or `lmreport init` gives it."""
    if not isinstance(value, str):
        return "must be text"
    if len(value) > MAX_VALUE_CHARS:
        return f"is {len(value):,} characters long; at most {MAX_VALUE_CHARS:,}"
    if control_character(value):
        return f"contains the control character U+{ord(control_character(value)):04X}"
    if key == "base_url" and not re.fullmatch(r"https?://[^\s/?#\"'<>\\^`{|}]+(/[^\s?#\"'<>\\^`{|}]*)?", value):
        return "must be the address the site is published at, e.g. https://you.github.io/course/"
    if key in ("model", "output", "extra") and not value.strip():
        return "must not be empty"
    if key == "playground" and value not in (*PLAYGROUND, "true", "false"):
        return "must be fp16 (or true), fp32, int8 or off"
    return None


def normalise_course_value(key: str, value: str) -> str:
    if key == "playground":
        return {"true": "fp16", "false": "off"}.get(value, value)
    return value if key != "base_url" or value.endswith("/") else value + "/"


def read_course(lessons_dir: Path) -> Course:
    """Optional course.yml beside the lessons (see COURSE_KEYS): unknown keys are warnings, as in front
    matter; paths in it are read from the lessons folder."""
    course = Course({"title": "lmreport course", "description": "", "models": []})
    path = Path(lessons_dir) / COURSE_FILE
    if not os.path.lexists(path):
        other = Path(lessons_dir) / "course.yaml"
        if other.exists():
            course.errors.append(LessonError(other, 1, f"not read: the course file is named {COURSE_FILE}"))
        return course
    text = read_text_file(path, lessons_dir, yamltext.MAX_SOURCE_CHARS, course.errors)
    if text is None:
        return course
    try:
        document = yamltext.load(normalise_text(text))
    except yamltext.YamlProblem as e:
        course.errors.append(LessonError(path, e.line + 1, f"{COURSE_FILE}: {e.message}"))
        return course
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        course.errors.append(LessonError(path, 1, f"{COURSE_FILE} must hold 'key: value' lines"))
        return course
    for key, value in data.items():
        line = document.key_lines.get(str(key), 0) + 1
        course.lines[str(key)] = line
        if key == "playground" and isinstance(value, bool):
            value = "fp16" if value else "off"
        if key not in COURSE_KEYS:
            close = difflib.get_close_matches(str(key), COURSE_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            course.warnings.append(LessonError(path, line, f"unknown key '{short(str(key), 40)}' in {COURSE_FILE}, "
                                                           f"not read (valid: {', '.join(COURSE_KEYS)}){hint}"))
        elif key == "models":
            entries, model_errors = parse_models(value, path, line)
            course.errors += model_errors
            course.settings[key] = []
            for e in entries:
                spec = model_relative_to(e.spec, path)
                course.settings[key].append(ModelEntry(spec, e.label, e.folder))
                course.named.setdefault(spec or "", (path, _line_of(text, e.spec, line), e.spec or ""))
            if entries and entries[0].folder:
                course.warnings.append(LessonError(path, line, f"'folder: {entries[0].folder}' of the first model is "
                                                               "not used: the first model's pages are the site's root"))
        elif problem := course_value_problem(key, value):
            course.errors.append(LessonError(path, line, f"'{key}' in {COURSE_FILE} {problem}"))
        elif key == "model":
            course.settings[key] = model_relative_to(value, path)
            course.named.setdefault(course.settings[key] or "", (path, line, value))
        else:
            course.settings[key] = normalise_course_value(key, value)
    return course


def _line_of(text: str, spec: str | None, after: int) -> int:
    """The 1-based line of course.yml that names spec, from the line of 'models:' on (that line if none does)."""
    for number, line in enumerate(text.splitlines()[after - 1:], after):
        if spec and spec in line:
            return number
    return after


def model_relative_to(spec: str | None, named_in: Path) -> str | None:
    """A model path written in a lesson is read from the lesson's folder, as a link would be; aliases, hub ids
    and absolute paths are left as they are."""
    try:
        if spec is None or spec in models.EMBEDDED or Path(spec).expanduser().is_absolute():
            return spec
        beside = named_in.parent / spec
        if spec.startswith(".") or beside.exists():
            return os.path.normpath(beside)
    except (OSError, RuntimeError):  # '~nosuchuser', a name too long: models.resolve() says so
        pass
    return spec


def extra_folder(lessons_dir: Path, course: dict[str, Any]) -> Path | None:
    """The folder whose files are copied as they are into the site's top (CNAME, robots.txt, a favicon...):
    course.yml's 'extra' (or --extra), else 'extra' in the lessons folder if there is one. It must lie inside
    the lessons folder, links resolved: the site is published, and must hold nothing from elsewhere."""
    named = course.get("extra")
    folder = Path(lessons_dir) / (named or "extra")
    try:
        if not folder.is_dir():
            if named:
                raise LmreportError(f"the extra folder '{short(str(folder), 200)}' (course.yml's 'extra' or --extra) "
                                    "does not exist")
            return None
        inside = Path(lessons_dir).resolve() in folder.resolve().parents
    except OSError as e:
        raise LmreportError(f"cannot use the extra folder '{short(str(folder), 200)}': {e.strerror or e}") from None
    if not inside:
        raise LmreportError(f"the extra folder '{short(str(folder), 200)}' is not inside the lessons folder "
                            f"'{lessons_dir}' (links followed): only files of the course go into the site")
    return folder
