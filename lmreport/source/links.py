"""Links and images between the files of a course, checked before any model work.

`[next](02-next.md#a-heading)` becomes a link to the built page; a link to a lesson or a heading that does
not exist is a warning at its line (an error with --strict), as mkdocs reports it. An image or a file a
lesson links to by relative path is copied into the site at the same path; a missing one, or one outside
the lessons folder, is a warning at its line.
"""

from __future__ import annotations

import posixpath
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it.token import Token

from lmreport.errors import LessonError, short
from lmreport.source import markdown
from lmreport.source.lessons import Lesson

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


# Ids a page has besides its headings: figures (fig-3, fig-3-head...) and footnotes (fn1, fnref1).
_OTHER_IDS = re.compile(r"fn\d+(:\d+)?|fnref\d+(:\d+)?")


_FIGURE_PART = re.compile(r"(fig-\d+)-[a-z]+")  # an element inside a figure (fig-2-head)


RESERVED = ("assets", "data", "compare", "index.html", "sitemap.xml", ".nojekyll", ".lmreport-site")


MAX_FILE_BYTES = 50 * 2**20  # a file a lesson links to is copied into the site at every build


@dataclass
class CourseFiles:
    """What the lessons link to: files to copy into the site (site path -> file), and the problems found."""

    files: dict[str, Path] = field(default_factory=dict)
    warnings: list[LessonError] = field(default_factory=list)


def check(lessons: list[Lesson], lessons_dir: Path) -> CourseFiles:
    """Resolve every relative link and image of every lesson; mark each token with the site path it points to
    (token.meta['site']), so every page of a model matrix can point to it from its own folder."""
    out = CourseFiles()
    root = Path(lessons_dir).resolve()
    by_file = {lesson.path.resolve().relative_to(root).as_posix(): lesson for lesson in lessons
               if root in lesson.path.resolve().parents}
    headings = {lesson.slug: _ids(lesson) for lesson in lessons}
    known = {slug: _known(ids) for slug, ids in headings.items()}  # once per lesson, not once per warning
    reserved = set(RESERVED) | {f"{lesson.slug}.html" for lesson in lessons}
    for lesson in lessons:
        for line, token in markdown.inline_tokens(lesson.tokens):
            if token.type not in ("link_open", "image"):
                continue
            attr = "src" if token.type == "image" else "href"
            url = str(token.attrs.get(attr, ""))
            problem = _resolve(token, attr, url, lesson, by_file, headings, known, reserved, root, out)
            if problem:
                out.warnings.append(LessonError(lesson.path, line + 1, problem))
    return out


def _ids(lesson: Lesson) -> set[str]:
    """The ids a lesson's page has that a link may name: its headings and its figures."""
    ids = {str(t.attrGet("id")) for t in lesson.tokens if t.type == "heading_open" and t.attrGet("id")}
    return ids | {f"fig-{i + 1}" for i in range(len(lesson.directives))}


def _has(ids: set[str], fragment: str) -> bool:
    part = _FIGURE_PART.fullmatch(fragment)
    return fragment in ids or bool(_OTHER_IDS.fullmatch(fragment)) or bool(part and part.group(1) in ids)


def _resolve(token: Token, attr: str, url: str, lesson: Lesson, by_file: dict[str, Lesson],
             headings: dict[str, set[str]], known: dict[str, str], reserved: set[str], root: Path,
             out: CourseFiles) -> str | None:
    target = url.strip()
    if not target or _SCHEME.match(target) or target.startswith(("//", "/", "\\")):
        return None  # the web, mail, or what url_problem() already refused
    rest, _, fragment = target.partition("#")
    path, mark, query = rest.partition("?")
    anchor = urllib.parse.unquote(fragment)  # ids are text: '#%C3%BCber' names the heading 'über'
    after = (mark + query) + (f"#{fragment}" if fragment else "")  # kept as written
    shown = short(url, 60)
    if not path:  # an anchor on this page
        if fragment and not _has(headings[lesson.slug], anchor):
            return f"link to '#{short(anchor, 40)}': no such heading on this page{known[lesson.slug]}"
        return None
    relative = posixpath.normpath(urllib.parse.unquote(path))  # lessons are the files at the folder's top
    if relative == ".." or relative.startswith("../"):
        return f"'{shown}' is outside the lessons folder: it cannot be part of the site"
    if relative.endswith(".md"):
        other = by_file.get(relative)
        if other is None:
            return f"link to '{shown}': no such lesson in the lessons folder"
        if fragment and not _has(headings[other.slug], anchor):
            return f"link to '{shown}': {other.path.name} has no heading '#{short(anchor, 40)}'{known[other.slug]}"
        token.meta["page"] = f"{other.slug}.html{after}"
        return None
    file = root / relative
    lesson = by_file.get(relative.removesuffix(".html") + ".md")
    if relative.endswith(".html") and lesson is not None:  # the page a lesson becomes: link to the lesson itself
        return f"link to '{shown}': to link to a lesson, name its file: {lesson.path.name}"
    if relative.split("/")[0] in reserved or relative in reserved:
        return f"'{shown}' would overwrite the site's own '{relative.split('/')[0]}': rename it"
    if any(part.startswith(".") for part in relative.split("/")):
        return f"'{shown}' is a hidden file: hidden files are not copied into the site"
    try:
        if not file.is_file() or root not in file.resolve().parents:
            kind = "image" if attr == "src" else "file"
            return f"{kind} '{shown}' does not exist in the lessons folder" if not file.exists() else \
                f"'{shown}' is not a plain file inside the lessons folder"
        if file.stat().st_size > MAX_FILE_BYTES:
            return f"'{shown}' is {file.stat().st_size:,} bytes; at most {MAX_FILE_BYTES:,} are copied into the site"
    except OSError as e:
        return f"'{shown}' cannot be read: {e.strerror}"
    except RuntimeError:  # resolve() on a loop of links
        return f"'{shown}' is a loop of links (a link that leads back to itself)"
    out.files[relative] = file
    token.meta["site"] = urllib.parse.quote(relative) + after  # 'a#b.png' is written 'a%23b.png' again
    return None


def _known(ids: set[str]) -> str:
    names = sorted(ids)
    return f" (headings: {', '.join(names[:8])}{', …' if len(names) > 8 else ''})" if names else " (it has none)"
