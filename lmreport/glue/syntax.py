"""Numbers and claims in lesson prose, taken from the build's own results.

A block gets a name with `id: capital`. In prose, a code span that starts with '=' is a value and one
that starts with '?' is a claim:

    The model gives ` Paris` `=capital.prob(" Paris"):.1%`.      ->  The model gives ␣Paris 77.3%.
    `?capital.top == " Paris"`                                    ->  checked on every build

A value is `ID.NAME`, or `ID.NAME(ARGS)` with JSON strings, numbers and `name=value` arguments,
optionally followed by `:FORMAT` (Python's format mini-language: `.1%`, `.2f`, `,`). A claim compares two
values, or a value and a literal (a string, a number, a percentage such as `50%`), with == != < <= > >=.
Nothing is evaluated as code: the grammar below is all there is.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from lmreport.errors import control_character
from lmreport.glue.types import Call, Reference, ReferenceProblem

MAX_SOURCE_CHARS = 300


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?%?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>==|!=|<=|>=|<|>)
    | (?P<punct>[.(),=:])
    )""",
    re.X,
)


# Python's format mini-language without fill characters, and widths bounded (a width of 10**9 would build a
# gigabyte of spaces).
_FORMAT = re.compile(r"[<>=^]?[+\- ]?#?0?\d{0,2}[,_]?(?:\.\d{1,2})?[bdeEfFgGnoxX%]?")  # no 'c': a character


_LOOKS_LIKE_REFERENCE = re.compile(r"[=?]\s*[A-Za-z_]\w*\s*\.")


def is_reference(code: str) -> bool:
    """Whether an inline code span is a reference: '=' or '?' then `id.` (`=c.top`, `?c.top == " x"`). Other
    code that starts with '=' or '?' (`=>`, `=SUM(A1:A3)`, `?:`) stays code."""
    return bool(_LOOKS_LIKE_REFERENCE.match(code))


def parse(path: Path, line: int, code: str) -> Reference:
    """Read `=value:format` or `?left OP right`; ReferenceProblem says what is wrong."""
    if len(code) > MAX_SOURCE_CHARS:
        raise ReferenceProblem(f"is {len(code)} characters long; at most {MAX_SOURCE_CHARS}")
    kind = "value" if code[0] == "=" else "claim"
    reader = _Reader(code[1:])
    left = reader.operand()
    if kind == "value":
        if not isinstance(left, Call):
            raise ReferenceProblem("a value names a result, e.g. `=capital.top`")
        spec = reader.format_spec()
        reader.end()
        return Reference(path, line, code[1:].strip(), kind, left, spec=spec)
    if reader.has_format:
        raise ReferenceProblem("a claim takes no format (':'); formats belong to values (`=id.value:.1%`)")
    op = reader.comparison()
    right = reader.operand()
    reader.end()
    reference = Reference(path, line, code[1:].strip(), kind, left, op, right)
    if not reference.calls:
        raise ReferenceProblem("a claim compares a value of a result, e.g. `?capital.top == \" Paris\"`")
    return reference


class _Reader:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        self.rest = ""
        self.has_format = False
        pos = 0
        while pos < len(text) and text[pos:].strip():
            if text[pos:].lstrip().startswith(":") and self._at_format(pos):
                self.rest = text[pos:].lstrip()[1:]
                self.has_format = True
                break
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise ReferenceProblem(f"cannot read {text[pos:].strip()[:20]!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.tokens.reverse()

    def _at_format(self, pos: int) -> bool:
        # A ':' outside a call's parentheses starts the format.
        depth = sum(1 if v == "(" else -1 if v == ")" else 0 for k, v in self.tokens if k == "punct")
        return depth == 0

    def _next(self) -> tuple[str, str]:
        if not self.tokens:
            raise ReferenceProblem("ends too early")
        return self.tokens.pop()

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[-1] if self.tokens else None

    def _expect(self, value: str) -> None:
        kind, found = self._next()
        if found != value:
            raise ReferenceProblem(f"expected '{value}', found '{found}'")

    def operand(self) -> Call | str | float:
        kind, value = self._next()
        if kind in ("string", "number"):
            return _literal(kind, value)
        if kind != "name":
            raise ReferenceProblem(f"expected a value, found '{value}'")
        if self._peek() != ("punct", "."):
            raise ReferenceProblem(f"'{value}' is neither a value of a block (id.value) nor a text: write a token or "
                                   f"a text in quotes, with its leading space if it has one, e.g. \" {value}\"")
        self._expect(".")
        kind, name = self._next()
        if kind != "name":
            raise ReferenceProblem(f"expected a value's name after '{value}.', found '{name}'")
        args: list[Any] = []
        kwargs: list[tuple[str, Any]] = []
        if self._peek() == ("punct", "("):
            self._next()
            while self._peek() != ("punct", ")"):
                kind, item = self._next()
                if kind == "name" and self._peek() == ("punct", "="):
                    self._next()
                    kwargs.append((item, _literal(*self._next())))
                elif kind in ("string", "number"):
                    if kwargs:
                        raise ReferenceProblem("arguments by name come after the others")
                    args.append(_literal(kind, item))
                else:
                    raise ReferenceProblem(f"expected an argument, found '{item}'")
                if self._peek() == ("punct", ","):
                    self._next()
                elif self._peek() != ("punct", ")"):
                    raise ReferenceProblem("expected ',' or ')' between arguments")
            self._next()
        return Call(value, name, tuple(args), tuple(kwargs))

    def comparison(self) -> str:
        kind, value = self._next()
        if kind != "op":
            raise ReferenceProblem(f"a claim needs a comparison (== != < <= > >=), found '{value}'")
        return value

    def format_spec(self) -> str:
        spec = self.rest.strip()
        if self.has_format and not spec:
            raise ReferenceProblem("':' needs a format after it, such as .1%")
        if spec and not _FORMAT.fullmatch(spec):
            raise ReferenceProblem(f"'{spec}' is not a format such as .1%, .2f or ,")
        return spec

    def end(self) -> None:
        if self.tokens:
            raise ReferenceProblem(f"unexpected '{self.tokens[-1][1]}'")


def _literal(kind: str, token: str) -> str | float:
    if kind == "string":
        return _string(token)
    if kind == "number":
        return _number(token)
    raise ReferenceProblem(f"expected a string or a number, found '{token}'")


def _string(token: str) -> str:
    try:
        text = str(json.loads(token))
    except ValueError:
        raise ReferenceProblem(f"cannot read the string {token[:30]}") from None
    bad = control_character(text)
    if bad is not None:
        raise ReferenceProblem(f"the string contains the control character U+{ord(bad):04X}")
    return text


def _number(token: str) -> float:
    value = float(token[:-1]) / 100 if token.endswith("%") else float(token)
    return int(value) if value.is_integer() and "." not in token and "%" not in token and "e" not in token.lower() \
        else value
