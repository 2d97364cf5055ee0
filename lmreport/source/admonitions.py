"""Admonitions (`!!! note`) an author indented wrongly: the box is drawn empty and the text follows it."""

from __future__ import annotations

from markdown_it.token import Token


def admonition_problems(tokens: list[Token], lines: list[str]) -> list[tuple[int, str]]:
    """An admonition (`!!! note`) whose body is indented less than four spaces: the box is drawn empty and the
    text follows it outside. (line, message) for each, 0-based lines."""
    problems = []
    for i, token in enumerate(tokens):
        if token.type != "admonition_open" or token.map is None:
            continue
        body = any(t.type not in ("admonition_title_open", "inline", "admonition_title_close")
                   for t in _until_close(tokens, i))
        after = token.map[1]
        if body or after >= len(lines):
            continue
        text = lines[after]
        indent = len(text) - len(text.lstrip(" "))
        if text.strip() and 0 < indent < 4:
            spaces = f"{indent} space{'s' if indent != 1 else ''}"
            problems.append((after, f"this line is indented {spaces}: the body of the admonition above must be "
                                    "indented 4, or its box is drawn empty and this text follows it outside"))
    return problems


def _until_close(tokens: list[Token], start: int) -> list[Token]:
    depth, out = 0, []
    for token in tokens[start + 1:]:
        if token.type == "admonition_open":
            depth += 1
        elif token.type == "admonition_close":
            if depth == 0:
                break
            depth -= 1
        out.append(token)
    return out
