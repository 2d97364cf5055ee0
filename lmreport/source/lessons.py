"""Reading lessons: front matter, prose, and ```lmreport directive blocks with their line numbers."""

from __future__ import annotations

import math
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_it.token import Token

from lmreport.errors import LessonError, control_character, short_repr
from lmreport.glue.syntax import is_reference
from lmreport.glue.syntax import parse as parse_reference
from lmreport.glue.types import Reference, ReferenceProblem
from lmreport.source import markdown, yamltext
from lmreport.source.admonitions import admonition_problems

FRONT_MATTER_KEYS = {"title": str, "order": (int, float), "model": str, "description": str}


SLUG_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")


MAX_SLUG_CHARS = 100  # page and data file names stay well under the 255 bytes a file name may have


# markdown-it is linear but not fast: about 40 µs a byte for the worst input ('![' repeated), 6 µs for prose.
MAX_LESSON_BYTES = 200_000


MAX_DIRECTIVES = 200  # per lesson: each may cost a forward pass, and a page of more is no lesson


_ORDER_PREFIX_RE = re.compile(r"^(\d+)")


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
    """A lesson file: front matter, its prose as markdown tokens, and the directives among them."""

    path: Path
    slug: str
    title: str
    order: float
    model: str | None
    description: str
    tokens: list[Token]
    directives: list[Directive]
    references: list[Reference] = field(default_factory=list)  # numbers and claims in the prose
    nonce: str = "slot"


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
        what = "is a file, not a folder of lessons" if lessons_dir.exists() else "no such folder"
        here = lessons_dir.absolute().parent
        if not lessons_dir.exists() and any(here.glob("*.md")):
            what += (f" ({here} holds lessons itself; to build them, run `lmreport build` from {here.parent}, "
                     f"or `lmreport build {here} -o SITE_DIR`)")
        result.errors.append(LessonError(lessons_dir, 0, what))
        return result
    # Hidden files (editor backups, lock files) are not lessons.
    entries = sorted(p for p in lessons_dir.iterdir() if not p.name.startswith("."))
    files = [p for p in entries if p.suffix == ".md" and not p.is_dir()]
    for p in entries:
        if p.suffix.lower() == ".md" and p.suffix != ".md":
            result.warnings.append(LessonError(p, 1, f"not read: lesson files end in '.md', not '{p.suffix}'"))
    if not files:
        result.errors.append(LessonError(lessons_dir, 0, "no lessons (*.md files) in this folder"))
    for path in files:
        text = read_text_file(path, lessons_dir, MAX_LESSON_BYTES, result.errors)
        if text is None:
            continue
        lesson = parse_lesson(path, text, result.errors, result.warnings, nonce)
        if lesson is not None:
            result.lessons.append(lesson)
    _check_slugs(result)
    result.lessons.sort(key=lambda lesson: (lesson.order, lesson.path.name))
    return result


def read_text_file(path: Path, inside: Path, max_bytes: int, errors: list[LessonError]) -> str | None:
    """A UTF-8 file of the course folder, or None with the reason in errors: a link out of the folder, a file
    too large to be a lesson, bytes that are not UTF-8 (at their line)."""
    try:
        outside = Path(inside).resolve() not in path.resolve().parents
    except RuntimeError:  # Python 3.11's resolve() on a loop of links (later versions raise OSError: ELOOP)
        outside = None
    except OSError as e:
        errors.append(LessonError(path, 1, f"cannot be read: {e.strerror or e}"))
        return None
    if outside is None:
        errors.append(LessonError(path, 1, "is a loop of links (a link that leads back to itself); not read"))
        return None
    if outside:
        errors.append(LessonError(path, 1, "links to a file outside the lessons folder; not read"))
        return None
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):  # a FIFO would block the build, a device never end
            errors.append(LessonError(path, 1, "is not a regular file; not read"))
            return None
        if status.st_size > max_bytes:
            errors.append(LessonError(path, 1, f"is {status.st_size:,} bytes; at most {max_bytes:,} are read"))
            return None
        raw = path.read_bytes()
    except FileNotFoundError:
        errors.append(LessonError(path, 1, "is a link to nothing; not read"))
        return None
    except OSError as e:
        errors.append(LessonError(path, 1, f"cannot be read: {e.strerror}"))
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        errors.append(LessonError(path, line, f"not valid UTF-8 ({e.reason} at byte {e.start})"))
        return None


def _check_slugs(result: ScanResult) -> None:
    seen: dict[str, Path] = {}
    for lesson in result.lessons:
        if lesson.slug in seen:
            result.errors.append(
                LessonError(lesson.path, 1, f"page name '{lesson.slug}' is also used by {seen[lesson.slug].name}")
            )
        seen[lesson.slug] = lesson.path


def normalise_text(text: str) -> str:
    """Without a byte order mark, with every line ending as '\n' (as markdown reads them)."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def split_lines(text: str) -> list[str]:
    """Lines as editors and markdown count them: split at '\n' only (str.splitlines() also splits at form
    feeds, U+2028 and others, which would shift every later line number)."""
    return text.split("\n")


def parse_lesson(
    path: Path, text: str, errors: list[LessonError], warnings: list[LessonError], nonce: str = "slot"
) -> Lesson | None:
    """Parse one lesson's text; problems go to errors/warnings, each with its line."""
    text = normalise_text(text)
    if len(text) > MAX_LESSON_BYTES:
        errors.append(LessonError(path, 1, f"is {len(text):,} characters; a lesson may have at most "
                                           f"{MAX_LESSON_BYTES:,}"))
        return None
    bad = _prose_control_character(text)
    if bad is not None:
        line = text[: text.index(bad)].count("\n") + 1
        errors.append(LessonError(path, line, f"the control character U+{ord(bad):04X} in the lesson: remove it"))
        return None
    lines = split_lines(text)
    front, body_start = _front_matter(path, lines, errors, warnings)
    slug = _slug(path, errors)
    # The front matter stays as blank lines, so token lines are file lines.
    tokens = markdown.parse("\n" * body_start + "\n".join(lines[body_start:]))
    deep = markdown.nesting_line(tokens)
    if deep is not None:
        errors.append(LessonError(path, deep + 1, f"lists or quotes nested {markdown.MAX_NESTING} levels deep; "
                                                  "lmreport reads at most that many"))
        return None
    for line, message in markdown.link_problems(tokens) + markdown.tex_problems(text):
        errors.append(LessonError(path, line + 1, message))
    for line, message in admonition_problems(tokens, lines):  # token lines are file lines
        warnings.append(LessonError(path, line + 1, message))
    directives = _directives(path, tokens, lines, errors)
    references = _references(path, tokens, errors)
    title = front.get("title") or markdown.first_heading(tokens) or path.stem
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
        tokens=tokens,
        directives=directives,
        references=references,
        nonce=nonce,
    )


def _prose_control_character(text: str) -> str | None:
    """A control character a page cannot show: any that control_character() finds, but a form feed (a page
    break some editors write) is allowed in prose."""
    return control_character(text.replace("\f", " "))


def _slug(path: Path, errors: list[LessonError]) -> str | None:
    slug = path.stem.lower()
    if slug == "index":
        errors.append(LessonError(path, 1, "a lesson cannot be named 'index' (the site's start page has that name)"))
        return None
    if not SLUG_RE.fullmatch(slug):
        errors.append(LessonError(path, 1, f"file name '{path.name}' makes a bad page name: use letters, digits, "
                                           "'-' and '_', starting with a letter or digit"))
        return None
    if len(slug) > MAX_SLUG_CHARS:
        errors.append(LessonError(path, 1, f"file name is {len(slug)} characters before '.md'; at most "
                                           f"{MAX_SLUG_CHARS} (page and data file names are made from it)"))
        return None
    return slug


def _front_matter(
    path: Path, lines: list[str], errors: list[LessonError], warnings: list[LessonError]
) -> tuple[dict[str, Any], int]:
    """Return (front matter, index of the first body line)."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    # The closing line starts at the margin: an indented '---' belongs to a value (a block scalar).
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        errors.append(LessonError(path, 1, "front matter starts with '---' but is never closed"))
        return {}, 0
    try:
        document = yamltext.load("\n".join(lines[1:end]))
    except yamltext.YamlProblem as e:
        errors.append(LessonError(path, 2 + e.line, f"front matter: {e.message}"))
        return {}, end + 1
    data = document.data
    if data is None:
        if any(line.strip() for line in lines[1:end]):
            warnings.append(LessonError(path, 2, "the lines between the first two '---' are read as front matter "
                                                 "and hold no 'key: value': for a rule, start with a blank line"))
        return {}, end + 1
    if not isinstance(data, dict):
        errors.append(LessonError(path, 2, "front matter must be 'key: value' lines"))
        return {}, end + 1
    front: dict[str, Any] = {}
    for key, value in data.items():
        line = 2 + document.key_lines.get(str(key), 0)
        expected = FRONT_MATTER_KEYS.get(str(key))
        if expected is None:
            valid = ", ".join(sorted(FRONT_MATTER_KEYS))
            warnings.append(LessonError(path, line, f"unknown front matter key '{key}' (valid: {valid})"))
        elif isinstance(value, bool) or not isinstance(value, expected):
            kind = "a number" if key == "order" else "text"
            errors.append(LessonError(path, line, f"front matter '{key}' must be {kind}, got {short_repr(value)}"))
        elif key == "order" and not _finite(value):
            errors.append(LessonError(path, line, f"front matter '{key}' must be a finite number"))
        elif isinstance(value, str) and control_character(value):
            errors.append(LessonError(path, line, f"front matter '{key}' contains the control character "
                                                  f"U+{ord(control_character(value)):04X}"))
        else:
            front[str(key)] = value
    return front, end + 1


def _finite(value: float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer of hundreds of digits
        return False


def _directives(path: Path, tokens: list[Token], lines: list[str], errors: list[LessonError]) -> list[Directive]:
    """Each ```lmreport fence as a Directive, numbered in source order; the fence remembers its number."""
    directives: list[Directive] = []
    for token in markdown.directive_fences(tokens):
        assert token.map is not None
        fence_line = token.map[0] + 1
        if len(directives) == MAX_DIRECTIVES:
            errors.append(LessonError(path, fence_line, f"more than {MAX_DIRECTIVES} lmreport blocks in one lesson: "
                                                        "split it into several lessons"))
            break
        if not markdown.fence_is_closed(token, lines):
            errors.append(LessonError(path, fence_line, f"```{markdown.DIRECTIVE_INFO} block is never closed"))
            continue
        directive = _parse_directive(path, fence_line, token.content.rstrip("\n"), errors)
        if directive is not None:
            token.meta["slot"] = len(directives)
            directives.append(directive)
    return directives


def _references(path: Path, tokens: list[Token], errors: list[LessonError]) -> list[Reference]:
    """Each `=value` and `?claim` code span of the prose; the span remembers its number."""
    found: list[Reference] = []
    for line, token in markdown.inline_tokens(tokens):
        if token.type == "image" and any(c.type == "code_inline" and is_reference(c.content)
                                         for c in token.children or []):
            errors.append(LessonError(path, line + 1, "a number or claim in an image's alt text is not read: "
                                                      "move it into the text"))
        if token.type != "code_inline" or not is_reference(token.content):
            continue
        try:
            reference = parse_reference(path, line + 1, token.content)
        except ReferenceProblem as e:
            errors.append(LessonError(path, line + 1, f"`{token.content[:60]}`: {e}"))
            continue
        token.meta["reference"] = len(found)
        found.append(reference)
    return found


def _parse_directive(path: Path, fence_line: int, source: str, errors: list[LessonError]) -> Directive | None:
    first = fence_line + 1
    try:
        document = yamltext.load(source)
    except yamltext.YamlProblem as e:
        errors.append(LessonError(path, first + e.line, f"lmreport block: {e.message}"))
        return None
    params = document.data
    if params is None:
        errors.append(LessonError(path, fence_line, "empty lmreport block: it needs at least 'analysis: NAME'"))
        return None
    if not isinstance(params, dict):
        errors.append(LessonError(path, first, "an lmreport block holds 'option: value' lines"))
        return None
    key_lines = {key: first + line for key, line in document.key_lines.items()}
    params = {str(k): v for k, v in params.items()}
    analysis = params.pop("analysis", None)
    if not isinstance(analysis, str) or not analysis.strip():
        errors.append(
            LessonError(path, key_lines.get("analysis", fence_line), "missing 'analysis: NAME' in lmreport block")
        )
        return None
    return Directive(path=path, line=fence_line, analysis=analysis.strip(), params=params, param_lines=key_lines)
