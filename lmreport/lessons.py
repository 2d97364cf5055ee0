"""Reading lessons: front matter, prose, and ```lmreport directive blocks with their line numbers."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import LessonError

DIRECTIVE_INFO = "lmreport"
FRONT_MATTER_KEYS = {"title": str, "order": (int, float), "model": str, "description": str}
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_FENCE_RE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>.*?)[ \t]*$")
_ORDER_PREFIX_RE = re.compile(r"^(\d+)")
_HEADING_RE = re.compile(r"^#\s+(.+?)\s*#*\s*$")


@dataclass
class Directive:
    """One ```lmreport block: where it is, which analysis, and its raw options."""

    path: Path
    line: int
    analysis: str
    params: dict[str, Any]
    param_lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, option: str) -> int:
        """The line of an option, or of the block's opening fence if it is not there."""
        return self.param_lines.get(option, self.line)

    def error(self, message: str, option: str | None = None) -> LessonError:
        line = self.line_of(option) if option else self.line
        return LessonError(self.path, line, message)


@dataclass
class Lesson:
    """A lesson file: front matter, markdown body with one slot per directive."""

    path: Path
    slug: str
    title: str
    order: float
    model: str | None
    description: str
    body: str
    directives: list[Directive]
    html: str = ""  # the prose as HTML, with a marker where each directive's figure goes


def slot_marker(nonce: str, index: int) -> str:
    """The word that stands alone in the markdown where directive `index` will be drawn."""
    return f"lmreportslot{nonce}x{index}"


@dataclass
class ScanResult:
    lessons: list[Lesson]
    errors: list[LessonError]
    warnings: list[LessonError]


def scan_lessons(lessons_dir: Path, nonce: str = "slot") -> ScanResult:
    """Read every lesson in a folder, sorted by order then file name; collect all errors."""
    lessons_dir = Path(lessons_dir)
    result = ScanResult([], [], [])
    if not lessons_dir.is_dir():
        result.errors.append(LessonError(lessons_dir, 0, "lessons folder does not exist"))
        return result
    files = sorted(p for p in lessons_dir.glob("*.md") if p.is_file())
    if not files:
        result.errors.append(LessonError(lessons_dir, 0, "no lessons (*.md files) in this folder"))
    inside = lessons_dir.resolve()
    for path in files:
        if inside not in path.resolve().parents:
            result.errors.append(LessonError(path, 1, "links to a file outside the lessons folder; not read"))
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            result.errors.append(LessonError(path, 1, f"not valid UTF-8 ({e.reason} at byte {e.start})"))
            continue
        lesson = parse_lesson(path, text, result.errors, result.warnings, nonce)
        if lesson is not None:
            result.lessons.append(lesson)
    _check_slugs(result)
    result.lessons.sort(key=lambda lesson: (lesson.order, lesson.path.name))
    return result


def _check_slugs(result: ScanResult) -> None:
    seen: dict[str, Path] = {}
    for lesson in result.lessons:
        if lesson.slug in seen:
            result.errors.append(
                LessonError(lesson.path, 1, f"page name '{lesson.slug}' is also used by {seen[lesson.slug].name}")
            )
        seen[lesson.slug] = lesson.path


def parse_lesson(
    path: Path, text: str, errors: list[LessonError], warnings: list[LessonError], nonce: str = "slot"
) -> Lesson | None:
    """Parse one lesson's text; problems go to errors/warnings, each with its line."""
    if "\x00" in text:
        errors.append(LessonError(path, text[: text.index("\x00")].count("\n") + 1, "NUL character in lesson"))
        return None
    lines = text.splitlines()
    front, body_start = _front_matter(path, lines, errors, warnings)
    slug = _slug(path, errors)
    body, directives = _scan_body(path, lines, body_start, errors, nonce)
    title = front.get("title") or _first_heading(lines[body_start:]) or path.stem
    order = front.get("order")
    if order is None:
        m = _ORDER_PREFIX_RE.match(path.stem)
        order = int(m.group(1)) if m else math.inf
    if slug is None:
        return None
    return Lesson(
        path=path,
        slug=slug,
        title=str(title),
        order=float(order),
        model=front.get("model"),
        description=front.get("description", ""),
        body=body,
        directives=directives,
    )


def _slug(path: Path, errors: list[LessonError]) -> str | None:
    slug = path.stem.lower()
    if slug == "index":
        errors.append(LessonError(path, 1, "a lesson cannot be named 'index' (the site's start page has that name)"))
        return None
    if not SLUG_RE.match(slug):
        errors.append(
            LessonError(path, 1, f"file name '{path.name}' makes a bad page name: use letters, digits, '-' and '_'")
        )
        return None
    return slug


def _first_heading(lines: list[str]) -> str | None:
    for line in lines:
        m = _HEADING_RE.match(line)
        if m:
            return m.group(1)
    return None


def _front_matter(
    path: Path, lines: list[str], errors: list[LessonError], warnings: list[LessonError]
) -> tuple[dict[str, Any], int]:
    """Return (front matter, index of the first body line)."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        errors.append(LessonError(path, 1, "front matter starts with '---' but is never closed"))
        return {}, 0
    source = "\n".join(lines[1:end])
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as e:
        errors.append(LessonError(path, 2 + _yaml_line(e), f"malformed front matter: {_yaml_problem(e)}"))
        return {}, end + 1
    if data is None:
        return {}, end + 1
    if not isinstance(data, dict):
        errors.append(LessonError(path, 2, "front matter must be 'key: value' lines"))
        return {}, end + 1
    key_lines = yaml_key_lines(source, first_line=2)
    front: dict[str, Any] = {}
    for key, value in data.items():
        line = key_lines.get(str(key), 2)
        expected = FRONT_MATTER_KEYS.get(str(key))
        if expected is None:
            valid = ", ".join(sorted(FRONT_MATTER_KEYS))
            warnings.append(LessonError(path, line, f"unknown front matter key '{key}' (valid: {valid})"))
        elif isinstance(value, bool) or not isinstance(value, expected):
            kind = "a number" if key == "order" else "text"
            errors.append(LessonError(path, line, f"front matter '{key}' must be {kind}, got {value!r}"))
        elif isinstance(value, str) and control_character(value):
            errors.append(LessonError(path, line, f"front matter '{key}' contains the control character "
                                                  f"U+{ord(control_character(value)):04X}"))
        else:
            front[str(key)] = value
    return front, end + 1


def control_character(text: str) -> str | None:
    """The first control character (other than tab and newlines) in text: a page cannot show it as typed."""
    return next((c for c in text if (ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) < 0xA0), None)


def _scan_body(
    path: Path, lines: list[str], start: int, errors: list[LessonError], nonce: str
) -> tuple[str, list[Directive]]:
    """Replace each ```lmreport block by a slot; other fences (code examples) are left alone."""
    out: list[str] = []
    directives: list[Directive] = []
    i = start
    while i < len(lines):
        m = _FENCE_RE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        fence = m.group("fence")
        close = _find_close(lines, i + 1, fence)
        info = m.group("info").split()
        if not info or info[0] != DIRECTIVE_INFO:
            stop = len(lines) if close is None else close + 1
            out.extend(lines[i:stop])
            i = stop
            continue
        if close is None:
            errors.append(LessonError(path, i + 1, f"```{DIRECTIVE_INFO} block is never closed"))
            break
        directive = _parse_directive(path, i + 1, lines[i + 1 : close], errors)
        if directive is not None:
            out.extend(["", slot_marker(nonce, len(directives)), ""])
            directives.append(directive)
        i = close + 1
    return "\n".join(out) + "\n", directives


def _find_close(lines: list[str], start: int, fence: str) -> int | None:
    for j in range(start, len(lines)):
        stripped = lines[j].strip()
        if stripped and stripped[0] == fence[0] and len(stripped) >= len(fence) and set(stripped) == {fence[0]}:
            return j
    return None


def _parse_directive(path: Path, fence_line: int, body: list[str], errors: list[LessonError]) -> Directive | None:
    first = fence_line + 1
    source = "\n".join(body)
    try:
        params = yaml.safe_load(source)
        key_lines = yaml_key_lines(source, first_line=first)
    except yaml.YAMLError as e:
        errors.append(LessonError(path, first + _yaml_line(e), f"malformed YAML in lmreport block: {_yaml_problem(e)}"))
        return None
    if params is None:
        errors.append(LessonError(path, fence_line, "empty lmreport block: it needs at least 'analysis: NAME'"))
        return None
    if not isinstance(params, dict):
        errors.append(LessonError(path, first, "an lmreport block holds 'option: value' lines"))
        return None
    dupes = _duplicate_keys(source)
    for key, line in dupes:
        errors.append(LessonError(path, first + line, f"option '{key}' is given twice"))
    if dupes:
        return None
    params = {str(k): v for k, v in params.items()}
    analysis = params.pop("analysis", None)
    if not isinstance(analysis, str) or not analysis:
        errors.append(
            LessonError(path, key_lines.get("analysis", fence_line), "missing 'analysis: NAME' in lmreport block")
        )
        return None
    return Directive(path=path, line=fence_line, analysis=analysis.strip(), params=params, param_lines=key_lines)


def yaml_key_lines(source: str, first_line: int) -> dict[str, int]:
    """Map each top-level key of a YAML mapping to its line in the file."""
    node = yaml.compose(source, Loader=yaml.SafeLoader)
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): first_line + k.start_mark.line for k, _ in node.value if isinstance(k, yaml.ScalarNode)}


def _duplicate_keys(source: str) -> list[tuple[str, int]]:
    node = yaml.compose(source, Loader=yaml.SafeLoader)
    if not isinstance(node, yaml.MappingNode):
        return []
    seen: set[str] = set()
    dupes = []
    for k, _ in node.value:
        key = str(k.value)
        if key in seen:
            dupes.append((key, k.start_mark.line))
        seen.add(key)
    return dupes


def _yaml_line(e: yaml.YAMLError) -> int:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    return mark.line if mark is not None else 0


def _yaml_problem(e: yaml.YAMLError) -> str:
    problem = getattr(e, "problem", None)
    text = str(problem) if problem else str(e).splitlines()[0]
    if text == "mapping values are not allowed here":
        text += " (a value that contains ': ' must be in quotes)"
    return text
