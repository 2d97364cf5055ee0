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

import inspect
import json
import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import LessonError, control_character, printable, short

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
COMPARISONS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
               ">=": operator.ge}


class TokenText(str):
    """A value that is one token of the vocabulary: the page shows it as figures do (␣Paris)."""


class ReferenceProblem(ValueError):
    """A reference that cannot be read or resolved; the message says why."""


class NotApplicableHere(ReferenceProblem):
    """A value this model does not have (the output token of an encoder): shown as n/a, with a warning."""


@dataclass(frozen=True)
class Call:
    """`block.name(args)`: one value of one block's result."""

    block: str
    name: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        parts = [json.dumps(a, ensure_ascii=False) for a in self.args]
        parts += [f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in self.kwargs]
        return f"{self.block}.{self.name}" + (f"({', '.join(parts)})" if parts else "")


@dataclass
class Reference:
    """A value or a claim in a lesson's prose, where it is, and what it compares."""

    path: Path
    line: int
    source: str  # as written, without the leading '=' or '?'
    kind: str  # "value" or "claim"
    left: Call | str | float
    op: str | None = None
    right: Call | str | float | None = None
    spec: str = ""

    @property
    def calls(self) -> list[Call]:
        """The values of results it names (one for a value, one or two for a claim)."""
        return [x for x in (self.left, self.right) if isinstance(x, Call)]

    def error(self, message: str) -> LessonError:
        return LessonError(self.path, self.line, message)

    @property
    def written(self) -> str:
        """As the lesson writes it (cut for messages): `=c.top`, `?c.top == " x"`."""
        return short(("=" if self.kind == "value" else "?") + self.source, 60)


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


def parameters(function: Any) -> str:
    """A value function's parameters as prose writes them: 'token, layer=-1' (the result data left out)."""
    params = list(inspect.signature(function).parameters.values())[1:]
    return ", ".join(p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}" for p in params)


def compare(op: str, left: Any, right: Any) -> bool:
    """A claim's comparison; strings compare only with strings, numbers with numbers."""
    if isinstance(left, str) != isinstance(right, str):
        raise ReferenceProblem("compares text with a number: text compares only with text, numbers with numbers")
    if isinstance(left, str) and op not in ("==", "!="):
        raise ReferenceProblem(f"text can only be compared with == or !=, not {op}")
    return bool(COMPARISONS[op](left, right))


def format_value(value: Any, spec: str) -> str:
    """A value as the prose shows it: format spec applied to numbers; texts as they are."""
    if isinstance(value, str):
        if spec:
            raise ReferenceProblem("a format applies to numbers; this value is text")
        # Generated text can hold any character: controls are written as escapes, as figures do.
        return value if isinstance(value, TokenText) else printable(value, keep_newlines=True)
    if spec:
        try:
            return format(value, spec)
        except ValueError as e:
            raise ReferenceProblem(f"format '{spec}' does not fit the value {value!r}: {e}") from None
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@dataclass
class Block:
    """What a reference may cite: one block with an id, its analysis, and (after the build) its result."""

    analysis: str
    values: dict[str, Any]
    figure: int
    data: dict[str, Any] | None = None
    skipped: str | None = None  # why the block was not computed on this model


@dataclass
class Resolved:
    """A reference after the build: the text a value shows, or whether a claim holds and why."""

    reference: Reference
    text: str = ""
    value: Any = None
    holds: bool | None = None
    detail: str = ""
    token: bool = False
    not_applicable: bool = False  # a value this model does not have: shown as n/a, with a warning


def check(reference: Reference, blocks: dict[str, Block]) -> None:
    """Before any model work: every block a reference names exists and offers that value with those arguments,
    claims compare text with text and numbers with numbers, and a format fits its value."""
    for call in reference.calls:
        block = blocks.get(call.block)
        if block is None:
            known = ", ".join(sorted(blocks)) or "none: give a block an id, e.g. 'id: capital'"
            raise ReferenceProblem(f"no block with id '{call.block}' in this lesson (ids: {known})")
        _bind(call, block)
    samples = [_sample(x, blocks) for x in (reference.left, reference.right) if x is not None]
    if reference.kind == "claim":
        compare(reference.op or "==", *samples)
    elif reference.spec:
        format_value(samples[0], reference.spec)


def _sample(operand: Call | str | float, blocks: dict[str, Block]) -> Any:
    """A stand-in of the operand's type (from the value function's return annotation), to check claims and
    formats before the numbers exist."""
    if not isinstance(operand, Call):
        return operand
    annotation = inspect.signature(blocks[operand.block].values[operand.name]).return_annotation
    return {"str": "text", "TokenText": TokenText("token"), "int": 0, "float": 0.0}.get(str(annotation), 0.0)


def resolve(reference: Reference, blocks: dict[str, Block]) -> Resolved:
    """Evaluate a reference on the blocks' results; one on a block skipped for this model shows as n/a."""
    from .analyses.values import MODEL  # the model's sizes: known even where the block was skipped

    for call in reference.calls:
        reason = blocks[call.block].skipped
        if reason is not None and call.name not in MODEL:
            return Resolved(reference, text="n/a", detail=f"block '{call.block}' was skipped: {reason}")
    try:
        values = [_evaluate(call, blocks) if isinstance(call, Call) else call
                  for call in (reference.left, reference.right)]
    except NotApplicableHere as e:
        return Resolved(reference, text="n/a", detail=str(e), not_applicable=True)
    left, right = values
    if reference.kind == "value":
        return Resolved(reference, text=format_value(left, reference.spec), value=left,
                        token=isinstance(left, TokenText))
    assert reference.op is not None
    holds = compare(reference.op, left, right)
    exact = _show(left) == _show(right) and left != right  # 0.005012 vs 0.0050124: rounding would hide it
    shown = [f"{x} = {_show(v, exact)}" if isinstance(x, Call) else _show(v, exact)
             for x, v in ((reference.left, left), (reference.right, right))]
    return Resolved(reference, holds=holds, detail=f"{shown[0]} {reference.op} {shown[1]}")


def _show(value: Any, exact: bool = False) -> str:
    if isinstance(value, str):
        return printable(json.dumps(value, ensure_ascii=False))
    if isinstance(value, float):
        return repr(value) if exact else f"{value:.4g}"
    return str(value)


def _bind(call: Call, block: Block) -> inspect.BoundArguments:
    function = block.values.get(call.name)
    if function is None:
        valid = ", ".join(sorted(block.values)) or "none"
        raise ReferenceProblem(f"{block.analysis} has no value '{call.name}' (valid: {valid})")
    signature = inspect.signature(function)
    try:
        bound = signature.bind({}, *call.args, **dict(call.kwargs))
    except TypeError:
        raise ReferenceProblem(f"{call.block}.{call.name} takes ({parameters(function)})") from None
    for name, value in list(bound.arguments.items())[1:]:
        expected = signature.parameters[name].annotation
        if expected in (int, "int") and not (isinstance(value, int) and not isinstance(value, bool)):
            raise ReferenceProblem(f"{call.name}: '{name}' must be a whole number, got {value!r}")
        if expected in (str, "str") and not isinstance(value, str):
            raise ReferenceProblem(f"{call.name}: '{name}' must be a string in double quotes, got {value!r}")
    return bound


def _evaluate(call: Call, blocks: dict[str, Block]) -> Any:
    block = blocks[call.block]
    if block.data is None:
        raise ReferenceProblem(f"block '{call.block}' has no result")
    bound = _bind(call, block)
    arguments = dict(bound.arguments)
    first = next(iter(arguments))
    arguments[first] = block.data
    try:
        return block.values[call.name](**arguments)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError) as e:
        if isinstance(e, ReferenceProblem):
            raise
        raise ReferenceProblem(f"{call} cannot be read from the result ({type(e).__name__}: {e})") from None
