"""Lesson scanning: front matter, directives with their lines, and every scanning error at file:line."""

from pathlib import Path

from lmreport.site.fragments import lesson_html
from lmreport.source.lessons import parse_lesson, scan_lessons


def parse(text: str, name: str = "02-logits.md"):
    errors, warnings = [], []
    lesson = parse_lesson(Path("lessons") / name, text, errors, warnings, nonce="n")
    return lesson, [str(e) for e in errors], [str(w) for w in warnings]


def test_directive_keeps_file_line_and_option_lines():
    text = "---\ntitle: Logits\norder: 2\n---\n\n# Heading\n\n```lmreport\nanalysis: topk\nprompt: Hello\nk: 3\n```\n"
    lesson, errors, _ = parse(text)
    assert errors == []
    assert lesson.title == "Logits" and lesson.order == 2 and lesson.slug == "02-logits"
    (d,) = lesson.directives
    assert (d.line, d.analysis, d.params) == (8, "topk", {"prompt": "Hello", "k": 3})
    assert d.line_of("k") == 11 and d.line_of("prompt") == 10 and d.line_of("missing") == 8
    html = lesson_html(lesson)
    assert "lmreportslotnx0" in html and "analysis: topk" not in html


def test_title_from_heading_and_order_from_file_name():
    lesson, errors, _ = parse("# The title here\n\ntext\n", name="07-x.md")
    assert (lesson.title, lesson.order, errors) == ("The title here", 7.0, [])


def test_lmreport_fence_inside_another_fence_is_an_example_not_a_directive():
    text = "````markdown\n```lmreport\nanalysis: topk\n```\n````\n"
    lesson, errors, _ = parse(text)
    assert lesson.directives == [] and errors == []
    assert "analysis: topk" in lesson_html(lesson)


def test_malformed_yaml_points_at_its_line():
    text = "intro\n\n```lmreport\nanalysis: topk\nprompt: [unclosed\n```\n"
    _, errors, _ = parse(text)
    assert len(errors) == 1
    assert errors[0].startswith("lessons/02-logits.md:5: lmreport block: malformed YAML")


def test_colon_in_value_gets_a_hint_about_quotes():
    _, errors, _ = parse("```lmreport\nanalysis: topk\ntitle: a: b\n```\n")
    assert errors == [
        "lessons/02-logits.md:3: lmreport block: malformed YAML: mapping values are not allowed "
        "here (a value that contains ': ' must be in quotes)"
    ]


def test_unclosed_block_missing_analysis_empty_block_and_duplicates():
    _, errors, _ = parse("text\n```lmreport\nanalysis: topk\n")
    assert errors == ["lessons/02-logits.md:2: ```lmreport block is never closed"]
    _, errors, _ = parse("```lmreport\nprompt: hi\n```\n")
    assert errors == ["lessons/02-logits.md:1: missing 'analysis: NAME' in lmreport block"]
    _, errors, _ = parse("```lmreport\n```\n")
    assert errors == ["lessons/02-logits.md:1: empty lmreport block: it needs at least 'analysis: NAME'"]
    _, errors, _ = parse("```lmreport\nanalysis: topk\nk: 1\nk: 2\n```\n")
    assert errors == ["lessons/02-logits.md:4: lmreport block: 'k' is given twice"]
    _, errors, _ = parse("```lmreport\n- a\n- b\n```\n")
    assert errors == ["lessons/02-logits.md:2: an lmreport block holds 'option: value' lines"]


def test_front_matter_errors_and_warnings():
    _, errors, warnings = parse("---\ntitle: [x\n---\n")
    assert errors[0].startswith("lessons/02-logits.md:2: front matter: malformed YAML")
    _, errors, warnings = parse("---\ntitle: T\ncolour: red\n---\n")
    assert errors == []
    assert warnings == [
        "lessons/02-logits.md:3: unknown front matter key 'colour' (valid: description, model, order, title)"
    ]
    _, errors, _ = parse("---\ntitle: T\norder: soon\n---\n")
    assert errors == ["lessons/02-logits.md:3: front matter 'order' must be a number, got 'soon'"]
    _, errors, _ = parse("---\ntitle: T\n")
    assert errors == ["lessons/02-logits.md:1: front matter starts with '---' but is never closed"]


def test_bad_file_names(tmp_path):
    (tmp_path / "index.md").write_text("# x\n")
    (tmp_path / "Bad Name.md").write_text("# y\n")
    (tmp_path / "01-ok.md").write_text("# ok\n")
    (tmp_path / "02-latin1.md").write_bytes("caf\xe9\n".encode("latin-1"))
    result = scan_lessons(tmp_path)
    messages = sorted(str(e).split(": ", 1)[1] for e in result.errors)
    assert messages == [
        "a lesson cannot be named 'index' (the site's start page has that name)",
        "file name 'Bad Name.md' makes a bad page name: use letters, digits, '-' and '_', starting with a letter "
        "or digit",
        "not valid UTF-8 (invalid continuation byte at byte 3)",
    ]
    assert [lesson.slug for lesson in result.lessons] == ["01-ok"]


def test_lessons_sorted_by_order_then_name(tmp_path):
    (tmp_path / "b.md").write_text("---\norder: 1\n---\n# B\n")
    (tmp_path / "a.md").write_text("# A\n")
    (tmp_path / "03-c.md").write_text("# C\n")
    assert [lesson.slug for lesson in scan_lessons(tmp_path).lessons] == ["b", "03-c", "a"]


def test_a_link_out_of_the_lessons_folder_is_not_read(tmp_path):
    secret = tmp_path / "secret.md"
    secret.write_text("# secret\n")
    (tmp_path / "lessons").mkdir()
    (tmp_path / "lessons" / "01-a.md").symlink_to(secret)
    (tmp_path / "lessons" / "02-b.md").write_text("# B\n")
    result = scan_lessons(tmp_path / "lessons")
    assert [str(e).split("lessons/")[1] for e in result.errors] == [
        "01-a.md:1: links to a file outside the lessons folder; not read"
    ]
    assert [lesson.slug for lesson in result.lessons] == ["02-b"]


# Digits the course's prose may write by hand: none describes what the model does (those come from the build as
# `=id.value` references); each is a definition, a convention, arithmetic, a citation or a setting of a block.
HAND_WRITTEN = (
    "add up to 1", "adding up to 1", "e ≈ 2.7", "it is 0 when", "Below 1 it", "above 1 it", "at temperature 1",
    "Layer 0 is", "count from 1", "count from 0", "1/√", "1 meaning", "(layer 0)", "1 means", "100 means",
    "1 at the top", "from 0,", "about −0.28", "max(0, x)", "clipped to 0", "(0: not at all)", "Voita, 2024",
    "at 0.2 only", "Meng et al. (2022)", "Hewitt and Liang, 2019", "(11-flow.md)", "(06-agreement.md)",
    "is 0 when nothing comes back", "and 1 when the clean",
)


def hand_written_digits(text: str) -> list[tuple[int, str, str]]:
    """Digits in a lesson's prose outside code spans, fences, front matter, "Try it" sections (instructions),
    names (SmolLM2, GPT-2, L1) and list numbers: (line, digits, line text)."""
    import re

    body = re.sub(r"\A---\n.*?\n---\n", lambda m: "\n" * m.group().count("\n"), text, flags=re.S)
    found, fence, section = [], False, ""
    for n, line in enumerate(body.split("\n"), 1):
        if line.startswith("```"):
            fence = not fence
            continue
        if fence:
            continue
        if line.startswith("#"):
            section = line.strip("# ").lower()
            continue
        if section == "try it":
            continue
        prose = re.sub(r"`[^`]*`", " ", line)
        prose = re.sub(r"\b[A-Za-z][\w-]*\d[\w-]*", " ", prose)
        prose = re.sub(r"^\s*\d+\. ", " ", prose)
        found += [(n, m.group(), line) for m in re.finditer(r"\d+(?:[.,]\d+)*", prose)]
    return found


def test_the_course_writes_no_number_about_the_model_by_hand():
    from tests.conftest import REPO

    stray = [f"{path.name}:{n}: {digits} in {line.strip()[:80]!r}"
             for path in sorted((REPO / "lessons").glob("*.md"))
             for n, digits, line in hand_written_digits(path.read_text(encoding="utf-8"))
             if not any(digits in allowed and allowed in line for allowed in HAND_WRITTEN)]
    assert stray == []
    # The audit finds what it should: a model fact typed into prose is caught.
    assert hand_written_digits("# A\n\nThe answer has 77% probability.\n") == [
        (3, "77", "The answer has 77% probability.")]


def test_indentation_slips_say_what_to_fix_not_what_yaml_expected():
    # An option indented under the one before it: YAML reads it as part of that value (or as a nested mapping).
    for value in ('"The capital of France is"', "The capital of France is"):
        _, errors, _ = parse(f"```lmreport\nanalysis: topk\nprompt: {value}\n  k: 5\n```\n")
        assert errors == ["lessons/02-logits.md:4: lmreport block: 'k:' is indented 2 space(s) more than the line "
                          "before it: start each option at the same column as the others"]
    # List items that do not line up.
    _, errors, _ = parse('```lmreport\nanalysis: compare_tokens\ntokens:\n- " Paris"\n  - " London"\n```\n')
    assert errors == ["lessons/02-logits.md:5: lmreport block: a list item indented 2 space(s), the item before "
                      "it 0: start every '- ' of a list at the same column (or write the list in brackets, e.g. "
                      "tokens: [\" is\", \" are\"])"]
    # A nested value that is meant (an option whose value is a mapping) is left to the option's own check.
    _, errors, _ = parse("```lmreport\nanalysis: topk\nprompt:\n  k: 5\n```\n")
    assert errors == []
