"""YAML as lessons use it (front matter, lmreport blocks, course.yml): a safe subset with bounded cost.

PyYAML's SafeLoader still expands aliases (a few lines can stand for gigabytes: "billion laughs"),
lets a later duplicate key win silently, recurses once per nesting level, and raises ValueError for
values it cannot convert (an integer of 5,000 digits, 2026-13-45). Here all of those are a YamlProblem
with the line where they start, and the value itself is never echoed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from lmreport.errors import short

MAX_SOURCE_CHARS = 64 * 1024


MAX_DEPTH = 32


# YAML reads these as line breaks, but Markdown and editors do not: a line number after one would be off,
# and inside quotes YAML folds one into a space.
_YAML_ONLY_BREAKS = {"\x85": "NEXT LINE", "\u2028": "LINE SEPARATOR", "\u2029": "PARAGRAPH SEPARATOR"}


class YamlProblem(Exception):
    """What is wrong with a YAML source, and its 0-based line within that source."""

    def __init__(self, line: int, message: str):
        self.line = line
        self.message = message
        super().__init__(message)


@dataclass
class YamlDocument:
    """The loaded value and, for a top-level mapping, each key's 0-based line."""

    data: Any
    key_lines: dict[str, int] = field(default_factory=dict)


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses aliases, duplicate keys and deep nesting while composing."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise YamlProblem(event.start_mark.line,
                              "YAML aliases (*name) are not allowed in lessons: write the value out")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlProblem(self.peek_event().start_mark.line, f"nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: Any) -> Any:
        node = super().compose_mapping_node(anchor)
        seen: set[Any] = set()
        for key, _ in node.value:
            if key.tag == "tag:yaml.org,2002:merge":
                raise YamlProblem(key.start_mark.line, "YAML merge keys (<<) are not allowed in lessons: write the "
                                                       "keys out")
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise YamlProblem(key.start_mark.line, f"'{short(key.value, 40)}' is given twice")
                seen.add(key.value)
        return node

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        # PyYAML's constructors raise plain exceptions for some values ('!!timestamp ""' even AttributeError).
        except (ValueError, OverflowError, TypeError, AttributeError, KeyError, IndexError) as e:
            if isinstance(e, yaml.YAMLError):
                raise
            raise YamlProblem(node.start_mark.line, f"cannot read this value ({short(str(e), 80)})") from None


def load(source: str) -> YamlDocument:
    """Load one YAML document; every problem is a YamlProblem at its line."""
    if len(source) > MAX_SOURCE_CHARS:
        raise YamlProblem(0, f"is {len(source):,} characters long; at most {MAX_SOURCE_CHARS:,}")
    for char, name in _YAML_ONLY_BREAKS.items():
        if char in source:
            line = source[: source.index(char)].count("\n")
            raise YamlProblem(line, f"contains U+{ord(char):04X} ({name}), which YAML reads as a line break: "
                                    f"write it as \\u{ord(char):04x} inside double quotes")
    try:
        loader = _Loader(source)
    except yaml.reader.ReaderError as e:
        raise YamlProblem(source[: e.position].count("\n"),
                          f"contains the character U+{e.character:04X}, which YAML does not allow") from None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
        key_lines = {}
        if isinstance(node, yaml.MappingNode):
            # Keyed as the loaded mapping is: 'null: x' is the key None, shown as 'None'.
            key_lines = {str(loader.construct_object(k, deep=True)): k.start_mark.line for k, _ in node.value}
    except YamlProblem:
        raise
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line if mark else 0
        raise YamlProblem(line, _indent_problem(source.split("\n"), line) or _problem_text(e)) from None
    except yaml.YAMLError as e:
        raise YamlProblem(0, "malformed YAML: " + short(str(e).splitlines()[0] if str(e) else "", 120)) from None
    except RecursionError:
        raise YamlProblem(0, "nested too deeply") from None
    finally:
        loader.dispose()
    return YamlDocument(data, key_lines)


_KEY = re.compile(r"( +)([A-Za-z_][\w-]*):(\s|$)")


def _indent_problem(lines: list[str], line: int) -> str | None:
    """A clearer message for the two indentation slips YAML reports in its own terms: an option indented under
    the one before it (which YAML reads as part of that value, or as a nested mapping), and list items that do not
    line up."""
    if not 0 <= line < len(lines):
        return None
    text = lines[line]
    key = _KEY.match(text)
    before = [t for t in lines[:line] if t.strip() and not t.lstrip().startswith("#")]
    indent = len(before[-1]) - len(before[-1].lstrip(" ")) if before else 0
    opened = before and re.fullmatch(r"\s*[^\s:#-][^:#]*:\s*(#.*)?", before[-1])  # 'key:' opens a nested block
    if key and before and len(key.group(1)) > indent and not opened:
        return (f"'{key.group(2)}:' is indented {len(key.group(1)) - indent} space(s) more than the line before "
                f"it: start each option at the same column as the others")
    if text.lstrip(" ").startswith("- ") and line > 0:
        items = [t for t in lines[:line] if t.lstrip(" ").startswith("- ")]
        if items:
            first = len(items[-1]) - len(items[-1].lstrip(" "))
            return (f"a list item indented {len(text) - len(text.lstrip(' '))} space(s), the item before it "
                    f"{first}: start every '- ' of a list at the same column (or write the list in brackets, "
                    f'e.g. tokens: [" is", " are"])')
    return None


def _problem_text(e: yaml.MarkedYAMLError) -> str:
    text = str(e.problem or e.context or "")
    if text == "mapping values are not allowed here":
        text += " (a value that contains ': ' must be in quotes)"
    elif "but found ','" in text:  # tokens: " is", " are"
        text += ' (several values make a list: write it in brackets, e.g. tokens: [" is", " are"])'
    return f"malformed YAML: {text}" if text else "malformed YAML"
