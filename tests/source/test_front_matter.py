"""Front matter: kept after a byte order mark, ended at the margin only, and an order that is not a finite
number is an error at its line."""

from __future__ import annotations

from tests.source.helpers import one_error, parse


def test_a_byte_order_mark_keeps_the_front_matter():
    lesson, errors, _ = parse("\ufeff---\ntitle: Kept\nmodel: x\n---\n# Heading\n")
    assert errors == [] and (lesson.title, lesson.model) == ("Kept", "x")


def test_front_matter_ends_at_the_margin_and_a_rule_is_not_silently_eaten():
    lesson, errors, _ = parse("---\ntitle: T\ndescription: |\n  text\n  ---\n  more\n---\n# Body\n")
    assert errors == [] and lesson.title == "T" and lesson.description == "text\n---\nmore"
    lesson, errors, warnings = parse("---\n# Big title\n---\n\nbody\n")
    assert errors == [] and [(w.line, w.message[:40]) for w in warnings] == [
        (2, "the lines between the first two '---' ar")]


def test_an_order_that_is_not_a_finite_number_is_refused():
    for value in (".nan", ".inf", "1.0e+400"):
        assert one_error(f"---\norder: {value}\n---\n") == (2, "front matter 'order' must be a finite number")


def test_a_huge_order_is_an_error_not_an_overflow():
    assert one_error("---\norder: " + "9" * 400 + "\n---\n") == (2, "front matter 'order' must be a finite number")
