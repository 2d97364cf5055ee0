"""Lesson prose: markdown parsed once into tokens, links checked at their lines, tokens rendered to HTML.

The parser is markdown-it-py (CommonMark, the parser behind MyST and mdformat): its time grows linearly
with the text, even for pathological input (thousands of '[', 20,000 headings without a blank line, a
500-level list), where Python-Markdown took seconds to minutes or raised RecursionError. Its tokens keep
their source lines, so a bad link is reported where it is, and a ```lmreport fence inside a list or a
quote is a fence like any other. Raw HTML is shown as text (`html: False`).
"""

from __future__ import annotations

import posixpath
import re
import urllib.parse
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.admon import admon_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin

from lmreport.errors import short

# Lists and quotes nested deeper than this would recurse too far; markdown-it drops what lies beyond it,
# so reaching it is an error (see nesting_line), never a silent loss.
MAX_NESTING = 40


DIRECTIVE_INFO = "lmreport"


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


_WEB_SCHEMES = {"http:", "https:", "mailto:"}


_C0_AND_SPACE = "".join(chr(i) for i in range(33))


@cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "maxNesting": MAX_NESTING, "highlight": highlight})
    md.enable(["table", "strikethrough"])
    # What authors of mkdocs and MyST sites expect, from mdit-py-plugins (the executablebooks project's
    # plugins for markdown-it-py): footnotes, `!!! note` admonitions, task lists and $math$.
    footnote_plugin(md)
    admon_plugin(md)
    md.core.ruler.after("inline", "task_lists", _task_lists)
    # Pandoc's rule for inline math: no space inside the dollars, no digit after the closing one, so that
    # "$5 and $10" stays text.
    dollarmath_plugin(md, allow_space=False, allow_digits=False, double_inline=True, renderer=_math)
    md.core.ruler.push("heading_ids", _heading_ids)
    for name in ("backticks", "link", "image", "autolink"):
        rule = next(r.fn for r in md.inline.ruler.__rules__ if r.name == name)
        md.inline.ruler.at(name, _remembering_lines(rule))
    # Keep every link in the tokens: link_problems() refuses the bad ones with their line, where
    # markdown-it would silently turn them into text.
    md.validateLink = lambda url: True
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("code_inline", _render_code_inline)
    md.add_render_rule("heading_close", _render_heading_close)
    md.add_render_rule("link_open", _linked("href", RendererHTML.renderToken))
    md.add_render_rule("image", _linked("src", RendererHTML.image))
    # $$…$$ inside a paragraph: displayed, in a span (a div cannot stand inside a <p>).
    md.add_render_rule("math_inline_double", lambda self, tokens, idx, options, env:
                       f'<span class="math display">{_math(tokens[idx].content, {"display_mode": True})}</span>')
    return md


MAX_HIGHLIGHT_CHARS = 20_000  # a longer code block is shown plain: some lexers' expressions backtrack


def highlight(code: str, language: str, attrs: Any) -> str:
    """A code block's HTML with Pygments' token classes, for a language Pygments knows; "" (shown plain,
    escaped) otherwise."""
    from pygments import highlight as pygmentize
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    if not language or len(code) > MAX_HIGHLIGHT_CHARS:
        return ""
    try:
        lexer = get_lexer_by_name(language)
    except ClassNotFound:
        return ""
    return pygmentize(code, lexer, HtmlFormatter(nowrap=True))


_TODO = re.compile(r"\[([ xX])\](?:[ \t]|$)")


def _task_lists(state: StateCore) -> None:
    """`- [x] done` list items get a disabled checkbox, in one pass over the tokens: the list each item belongs
    to is kept on a stack (mdit-py-plugins' task lists search back from every item, which took a minute for a
    lesson of 20,000 items)."""
    lists: list[Token] = []
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            lists.append(token)
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif (token.type == "inline" and i >= 2 and tokens[i - 1].type == "paragraph_open"
              and tokens[i - 2].type == "list_item_open" and token.children and token.children[0].type == "text"):
            todo = _TODO.match(token.children[0].content)
            if todo is None:
                continue
            box = Token("html_inline", "", 0)  # our own fixed markup: nothing of the lesson's text is in it
            checked = " checked" if todo.group(1) != " " else ""
            box.content = f'<input class="task-list-item-checkbox" type="checkbox" disabled{checked}> '
            token.children[0].content = token.children[0].content[todo.end():]
            token.children.insert(0, box)
            tokens[i - 2].attrSet("class", "task-list-item")
            if lists:
                lists[-1].attrSet("class", "contains-task-list")


# MathJax's \mmlToken sets any HTML attribute of its output (href="javascript:...", style with an outside
# url(...)): refused anywhere in a lesson, and emptied by the page's MathJax configuration as well.
FORBIDDEN_TEX = "\\mmlToken"


def tex_problems(text: str) -> list[tuple[int, str]]:
    """(0-based line, message) for each use of TeX that could change the page rather than draw math."""
    return [(text.count("\n", 0, m.start()), "\\mmlToken is not allowed: it sets HTML attributes of the "
             "math (links, styles), which a lesson may not do") for m in re.finditer(re.escape(FORBIDDEN_TEX), text)]


def _math(content: str, options: dict[str, Any]) -> str:
    """TeX as MathJax reads it on the page (escaped here: the browser gives MathJax the text back)."""
    delimiters = ("\\[", "\\]") if options.get("display_mode") else ("\\(", "\\)")
    return escapeHtml(delimiters[0] + content + delimiters[1])


def has_math(tokens: list[Token]) -> bool:
    """Whether a page needs MathJax."""
    return any(t.type.startswith("math_block") for t in tokens) or any(
        c.type.startswith("math_inline") for t in tokens if t.type == "inline" for c in t.children or [])


def _render_heading_close(self: RendererHTML, tokens: list[Token], idx: int, options: Any, env: dict[str, Any]
                          ) -> str:
    """The heading's permalink, then the closing tag."""
    opening = tokens[idx - 2] if idx >= 2 else None
    anchor = opening.attrGet("id") if opening is not None and opening.type == "heading_open" else None
    link = (f'<a class="permalink" href="#{escapeHtml(str(anchor))}" aria-label="Link to this section">¶</a>'
            if anchor else "")
    return f"{link}</{tokens[idx].tag}>\n"


def table_of_contents(tokens: list[Token]) -> list[dict[str, Any]]:
    """The page's sections (level-2 and level-3 headings): level, text and id, in order."""
    return [{"level": int(t.tag[1]), "text": plain_text(tokens[i + 1]), "id": t.attrGet("id")}
            for i, t in enumerate(tokens[:-1]) if t.type == "heading_open" and t.tag in ("h2", "h3")]


def _remembering_lines(rule: Callable[[StateInline, bool], bool]) -> Callable[[StateInline, bool], bool]:
    """The inline rule, marking the tokens it makes with the line they start on within their block: a code
    span, an image's alt text or a link's title can hold a line break that leaves no softbreak token."""

    def rule_with_lines(state: StateInline, silent: bool) -> bool:
        first, position = len(state.tokens), state.pos
        matched = rule(state, silent)
        if matched and not silent:
            line = state.src.count("\n", 0, position)
            for token in state.tokens[first:]:
                token.meta.setdefault("line", line)
        return matched

    return rule_with_lines


def _heading_ids(state: StateCore) -> None:
    """An id on every heading, from its text, unique on the page ('intro', 'intro-1', ...). A counter per
    name keeps this linear: mdit-py-plugins' anchors rescan from 1 for every repeat, which took seconds
    for a few thousand headings of the same name."""
    taken: set[str] = set()
    counters: dict[str, int] = {}
    for i, token in enumerate(state.tokens):
        if token.type != "heading_open" or i + 1 >= len(state.tokens):
            continue
        base = _slug(plain_text(state.tokens[i + 1])) or "section"
        if re.match(r"(fig-|fn|fnref)\d", base):  # figures own fig-1..., footnotes fn1 and fnref1
            base = f"section-{base}"
        slug, n = base, counters.get(base, 0)
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        counters[base] = n
        taken.add(slug)
        token.attrSet("id", slug)


def _slug(text: str) -> str:
    words = re.sub(r"[^\w\s-]", "", text.lower()).split()
    return "-".join(words)[:80].strip("-")


def parse(text: str) -> list[Token]:
    """Block tokens of a markdown text; token.map lines are 0-based lines of text."""
    return _markdown().parse(text)


def render(tokens: list[Token], nonce: str, base: str = "") -> str:
    """HTML of the tokens; a directive's fence becomes the slot its figure replaces. base: the way from the
    page's folder to the site's top ('../' for a page of a model matrix's folder), for files lessons link to."""
    md = _markdown()
    return md.renderer.render(tokens, md.options, {"nonce": nonce, "base": base})


def _linked(attr: str, default: Callable[..., str]) -> Callable[..., str]:
    """A link or image rule that points to what links.check() found: another lesson's page (meta 'page'), or a
    file copied into the site (meta 'site', from the site's top)."""

    def rule(self: RendererHTML, tokens: list[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
        token = tokens[idx]
        target = token.meta.get("page") or (env.get("base", "") + token.meta["site"] if "site" in token.meta else None)
        if target is None:
            return default(self, tokens, idx, options, env)
        original = token.attrGet(attr)
        token.attrSet(attr, target)
        try:
            return default(self, tokens, idx, options, env)
        finally:
            token.attrSet(attr, original)

    return rule


def slot_marker(nonce: str, index: int) -> str:
    """The paragraph that stands where directive `index` will be drawn (the nonce changes every build)."""
    return f"<p>lmreportslot{nonce}x{index}</p>"


def slot_pattern(nonce: str) -> str:
    """A regular expression of every figure slot of a build, the directive's number its group."""
    return f"<p>lmreportslot{re.escape(nonce)}x(\\d+)</p>"


def _render_fence(self: RendererHTML, tokens: list[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    token = tokens[idx]
    if "slot" in token.meta:
        return slot_marker(env["nonce"], token.meta["slot"]) + "\n"
    return RendererHTML.fence(self, tokens, idx, options, env)


def reference_marker(nonce: str, index: int) -> str:
    """The text that stands where reference `index` (a number or claim from the build) will be shown."""
    return f"lmreportref{nonce}x{index}z"  # the z ends it: x1 must not match x10


def reference_pattern(nonce: str) -> str:
    """A regular expression of every reference marker of a build, the reference's number its group."""
    return f"lmreportref{re.escape(nonce)}x(\\d+)z"


def _render_code_inline(self: RendererHTML, tokens: list[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    token = tokens[idx]
    if "reference" in token.meta:
        return reference_marker(env["nonce"], token.meta["reference"])
    word = token.content[1:]
    if token.content.startswith(" ") and word and not any(c.isspace() for c in word):
        # A token with its leading space (` Paris`): the space drawn as ␣, as every figure draws it, so that it
        # neither disappears nor lets the line break inside the code box.
        from markdown_it.common.utils import escapeHtml

        return f'<code class="token">\u2423{escapeHtml(word)}</code>'
    return RendererHTML.code_inline(self, tokens, idx, options, env)


def fence_info(token: Token) -> str:
    return token.info.split()[0] if token.info.split() else ""


def directive_fences(tokens: list[Token]) -> list[Token]:
    """Every ```lmreport fence, at any depth (inside lists and quotes too), in source order."""
    return [t for t in tokens if t.type == "fence" and fence_info(t) == DIRECTIVE_INFO]


def fence_is_closed(token: Token, lines: list[str]) -> bool:
    """Whether the fence's last line is its closing fence (markdown-it closes an unclosed one at the end)."""
    assert token.map is not None
    start, end = token.map
    if end - 1 <= start or end - 1 >= len(lines):
        return False
    last = lines[end - 1].lstrip(" \t>")
    char = token.markup[0]
    return len(last.strip()) >= len(token.markup) and set(last.strip()) == {char}


def nesting_line(tokens: list[Token]) -> int | None:
    """The 0-based line of the first token nested as deep as the parser goes, or None."""
    for token in tokens:
        if token.level >= MAX_NESTING - 1:
            return token.map[0] if token.map else 0
    return None


def first_heading(tokens: list[Token]) -> str | None:
    """The text of the first level-1 heading, without its markup (`*x*` and `` `x` `` read x)."""
    for i, token in enumerate(tokens[:-1]):
        if token.type == "heading_open" and token.tag == "h1" and plain_text(tokens[i + 1]):
            return plain_text(tokens[i + 1])
    return None


def plain_text(inline: Token) -> str:
    """An inline token's text without its markup: `*x*` and `` `x` `` read x; a line break reads as a space."""
    parts = [" " if c.type in ("softbreak", "hardbreak") else f"${c.content}$" if c.type.startswith("math") else
             c.content for c in inline.children or []
             if c.type in ("text", "code_inline", "softbreak", "hardbreak", "math_inline", "math_inline_double")]
    return "".join(parts).strip()


def inline_tokens(tokens: list[Token]) -> Iterator[tuple[int, Token]]:
    """Every inline token (text, code, link...) with its 0-based source line."""
    for block in tokens:
        if block.type != "inline" or not block.children:
            continue
        start = block.map[0] if block.map else 0
        line = start
        for child in block.children:
            if child.type in ("softbreak", "hardbreak"):
                line += 1
            elif "line" in child.meta:
                line = start + child.meta["line"]
            yield line, child


def link_problems(tokens: list[Token]) -> list[tuple[int, str]]:
    """(0-based line, message) for every link or image a page must not have."""
    problems = []
    for line, child in inline_tokens(tokens):
        if child.type in ("link_open", "image"):
            image = child.type == "image"
            message = url_problem(str(child.attrs.get("src" if image else "href", "")), image=image)
            if message:
                problems.append((line, message))
    return problems


def url_problem(url: str, image: bool) -> str | None:
    """Why a link (or an image) may not be on a page, read as a browser reads the URL; None if it may.

    Links may go to http(s), mailto, an #anchor or a path; images must be files of the site (a relative
    path), since the site works offline and sends no request outside itself. '//host/x' (and '\\\\host')
    is another host, not a path.
    """
    shown = short(url, 60)
    target = re.sub(r"[\t\n\r]", "", url).strip(_C0_AND_SPACE).replace("\\", "/")
    scheme = _SCHEME.match(target)
    other_host = target.startswith("//")
    if image:
        if scheme or other_host:
            return f"image '{shown}' is not a file of the site: images must be relative paths (the site works offline)"
        if target.startswith("/"):
            return f"image '{shown}' must be a relative path ('/...' leaves the site when it is served from a subpath)"
        inside = posixpath.normpath(urllib.parse.unquote(target.split("?")[0].split("#")[0]))
        if inside == ".." or inside.startswith("../"):
            return f"image '{shown}' is outside the site: pages sit at its top, so '..' leaves it"
        return None
    if scheme and scheme.group().lower() not in _WEB_SCHEMES:
        return f"link to '{shown}' is not allowed: use http(s), mailto or a relative path"
    return None

