"""Checking references before any model work, and evaluating them on the build's results."""

from __future__ import annotations

import inspect
import json
import operator
from typing import Any

from lmreport.errors import printable
from lmreport.glue.sizes import MODEL
from lmreport.glue.types import Block, Call, NotApplicableHere, Reference, ReferenceProblem, Resolved, TokenText

COMPARISONS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
               ">=": operator.ge}


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
    for call in reference.calls:
        reason = blocks[call.block].skipped
        if reason is not None and call.name not in MODEL:  # the model's sizes: known even where it was skipped
            return Resolved(reference, text="n/a", detail=f"block '{call.block}' was skipped: {reason}",
                            not_applicable=True)
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


def read_value(analysis: str, values: dict[str, Any], data: dict[str, Any], name: str, args: tuple[Any, ...]
               ) -> Any:
    """One value of one result, read as prose reads `=id.name(args)` (the same checks of the arguments and the
    same errors): for the Python API."""
    return _evaluate(Call("result", name, tuple(args)), {"result": Block(analysis, values, 0, data)})


def unchecked_values(resolved: list[Resolved]) -> list[int]:
    """The numbers of the prose that no claim checks: no claim on the same line of the lesson, or the next, reads
    the same value of the same block with the same arguments. (`lmreport build --lint-claims` lists them.)"""
    claims = [(item.reference.line, set(item.reference.calls)) for item in resolved if item.reference.kind == "claim"]
    out = []
    for i, item in enumerate(resolved):
        if item.reference.kind != "value":
            continue
        calls = set(item.reference.calls)
        if not any(line in (item.reference.line, item.reference.line + 1) and calls & checked
                   for line, checked in claims):
            out.append(i)
    return out


def suggested_claim(item: Resolved) -> str:
    """A claim that would check a number of the prose on every model (for --lint-claims): the value itself for
    text and whole numbers, a bound at two significant figures for other numbers."""
    import math

    source = item.reference.source
    if item.reference.spec and source.endswith(":" + item.reference.spec):  # a claim takes no format
        source = source[: -len(item.reference.spec) - 1].rstrip()
    value = item.value
    if isinstance(value, str):
        return f"`?{source} == {json.dumps(str(value), ensure_ascii=False)}`"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return f"`?{source} == {int(value)}`"
    if not isinstance(value, float) or not math.isfinite(value) or value == 0:
        return f"`?{source} ...`"
    digits = 1 - int(math.floor(math.log10(abs(value))))
    scale = 10 ** digits
    if value > 0:
        return f"`?{source} > {math.floor(value * scale) / scale:g}`"
    return f"`?{source} < {math.ceil(value * scale) / scale:g}`"
