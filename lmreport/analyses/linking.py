"""Options that name another block of the same lesson by its id (an Option with `block`: topk's scale_with), and
the groups of blocks they link. A name is checked against the lesson's blocks; a linked block is drawn with the
results of its group, so that its figure can share what they share (topk: one probability axis).

Links go both ways and through other blocks: when b and c each name a, the three are one group, a included."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from lmreport import analyses
from lmreport.analyses.options import OptionError
from lmreport.errors import LessonError
from lmreport.result import Result

if TYPE_CHECKING:
    from lmreport.analyses.options import Option
    from lmreport.analyses.spec import Analysis
    from lmreport.source.lessons import Directive, Lesson


@dataclass(frozen=True)
class Linked:
    """Another block of a group, as a figure drawn with it sees it: its figure's id on the page, its caption, its
    result (a skipped block's note for a model it does not apply to)."""

    anchor: str
    title: str
    result: Result


class Block(Protocol):
    """A planned block of a lesson (a build's Job is one)."""

    lesson: Lesson
    index: int
    directive: Directive
    analysis: Analysis
    title: str
    result: Result | None


def _links(directive: Directive) -> list[tuple[Option, str]]:
    """The options of a block that name another block, with the id each names."""
    analysis = analyses.REGISTRY.get(directive.analysis)
    if analysis is None:
        return []
    return [(o, directive.params[o.name]) for o in analysis.options
            if o.block and isinstance(directive.params.get(o.name), str) and _parses(o, directive.params[o.name])]


def _parses(option: Option, value: str) -> bool:
    """A value its option refuses is that option's error already (not also a link to nothing)."""
    try:
        option.parse(value)
    except OptionError:
        return False
    return True


def _ids(directives: Sequence[Directive]) -> dict[str, Directive]:
    return {d.params["id"]: d for d in directives if isinstance(d.params.get("id"), str)}


def link_problems(lessons: Sequence[Lesson]) -> list[LessonError]:
    """Each option naming a block that its lesson does not have, that is not of the analysis the option draws with,
    or that is its own block: an error at the option's line."""
    problems = []
    for lesson in lessons:
        ids = _ids(lesson.directives)
        for directive in lesson.directives:
            for option, target in _links(directive):
                message = _problem(directive, option, target, ids)
                if message:
                    problems.append(directive.error(f"{directive.analysis}: option '{option.name}' {message}",
                                                    option.name))
    return problems


def _problem(directive: Directive, option: Option, target: str, ids: dict[str, Directive]) -> str:
    named = ids.get(target)
    if named is None:
        same = sorted(i for i, d in ids.items() if d.analysis == option.block)
        close = difflib.get_close_matches(target, same, n=1)
        return (f"names '{target}', and no block of this lesson has that id (the {option.block} blocks with an id: "
                f"{', '.join(same) or 'none'})" + (f"; did you mean '{close[0]}'?" if close else ""))
    if named is directive:
        return f"names this block itself; name another {option.block} block of the lesson"
    if named.analysis != option.block:
        return f"names '{target}', a {named.analysis} block; it must name a {option.block} block"
    return ""


def drawn(block: Block, lesson: Sequence[Block], anchor: Callable[[int], str]) -> Result:
    """The block's result as its figure draws it: its analysis's `linked` given the other blocks of its group, in
    page order (lesson: the planned blocks of its lesson; anchor: a block's index -> its figure's id on the page);
    the result itself where the analysis links nothing or no block links to it."""
    assert block.result is not None
    if block.analysis.linked is None:
        return block.result
    group = _group(block, lesson)
    others = [Linked(anchor(b.index), b.title, b.result) for b in group if b is not block and b.result is not None]
    return block.analysis.linked(block.result, others) if others else block.result


def _group(block: Block, lesson: Sequence[Block]) -> list[Block]:
    """The blocks linked to this one, directly or through others, itself included, in page order."""
    by_id = {b.directive.params["id"]: b for b in lesson if isinstance(b.directive.params.get("id"), str)}
    edges: dict[int, set[int]] = {b.index: set() for b in lesson}
    for b in lesson:
        for option, target in _links(b.directive):
            named = by_id.get(target)
            if named is not None and named is not b and named.analysis.name == option.block:
                edges[b.index].add(named.index)
                edges[named.index].add(b.index)
    seen, todo = {block.index}, [block.index]
    while todo:
        for other in edges.get(todo.pop(), set()) - seen:
            seen.add(other)
            todo.append(other)
    return [b for b in lesson if b.index in seen]
