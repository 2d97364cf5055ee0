"""The probe's options: labelled prompts as a mapping, refused with a message that says what to write; problems
found once the prompts are tokenized land at the option to change."""

from __future__ import annotations

import re

import pytest

from lmreport import analyses
from lmreport.analyses.options import OptionError
from lmreport.analyses.probe.examples import MAX_PROMPTS
from lmreport.errors import AnalysisError
from tests.analyses.probe.prompts import BY_FIRST, probe

TWO = {"singular": ["The dog", "The key"], "plural": ["The dogs", "The keys"]}


def parse(**options):
    return analyses.get("probe").parse_options(options)


def test_defaults_and_the_parsed_form_keep_the_classes_in_their_order():
    parsed = parse(examples={"plural": TWO["plural"], "singular": TWO["singular"]})
    assert parsed == {"examples": [["plural", ["The dogs", "The keys"]], ["singular", ["The dog", "The key"]]],
                      "position": -1, "folds": 5, "C": 1.0, "seed": 0, "control_by": "token"}
    assert parse(examples=parsed["examples"])["examples"] == parsed["examples"]  # parsing its own output
    assert analyses.get("probe").prompts(parsed) == ["The dogs", "The keys", "The dog", "The key"]


@pytest.mark.parametrize("examples, message", [
    (["The dog", "The dogs"], "must map each label to its prompts, e.g. {singular: "),
    ({"singular": ["The dog", "The key"]}, "names 1 label ('singular'); a probe needs at least 2 classes"),
    ({}, "names 0 labels (none)"),
    ({1: ["a", "b"], 2: ["c", "d"]}, "has the label 1, which is not text: put it in quotes"),
    ({"": ["a", "b"], "x": ["c", "d"]}, "has an empty label"),
    ({"x" * 41: ["a", "b"], "y": ["c", "d"]}, "has a label that is 41 characters long; at most 40"),
    ({"a": ["The dog"], "b": ["c", "d"]}, "gives 'a' 1 prompt; each class needs at least 2 (and at least as many"),
    ({"a": "The dog", "b": ["c", "d"]}, "gives 'a' 1 prompt"),
    ({"a": [1, 2], "b": ["c", "d"]}, "must give 'a' a list of prompts (text), got [1, 2]"),
    ({"a": ["x", " "], "b": ["c", "d"]}, "gives 'a' an empty prompt (number 2)"),
    ({"a": ["x", "y\x07"], "b": ["c", "d"]}, "prompt 2 of 'a' contains the control character U+0007"),
    ({"a": ["x", "y"], "b": ["c", "x"]}, "gives the prompt 'x' under both 'a' and 'b': each prompt once"),
    ({"a": ["x", "y", "x"], "b": ["c", "d"]}, "gives the prompt 'x' twice under 'a'"),
    ({"a": [f"p{i}" for i in range(MAX_PROMPTS)], "b": ["c", "d"]}, f"gives {MAX_PROMPTS + 2} prompts; at most 400"),
])
def test_examples_that_are_refused_say_why(examples, message):
    with pytest.raises(OptionError, match="^" + re.escape(f"probe: option 'examples' {message}")):
        parse(examples=examples)


@pytest.mark.parametrize("option, value, message", [
    ("folds", 1, "must be at least 2, got 1"),
    ("C", 0, "must be at least 1e-06, got 0"),
    ("control_by", "word", "'word' is not one of: token, prompt"),
    ("seed", -1, "must be at least 0, got -1"),
])
def test_other_options_are_bounded(option, value, message):
    with pytest.raises(OptionError, match=message):
        parse(examples=TWO, **{option: value})


def test_a_class_smaller_than_the_folds_is_an_error_at_examples(gpt2):
    with pytest.raises(AnalysisError, match="'singular' has 2 prompts, fewer than the 5 folds") as e:
        probe(gpt2, examples=TWO)
    assert e.value.option == "examples"


def test_one_word_type_for_two_classes_is_an_error_at_control_by(gpt2):
    same_end = {"a": ["Alice is", "Bob is"], "b": ["The key is", "The shop is"]}
    with pytest.raises(AnalysisError, match=r"1 distinct token at position -1 \(' is'\), fewer than the 2 classes.*"
                                            "set control_by: prompt") as e:
        probe(gpt2, examples=same_end, folds=2)
    assert e.value.option == "control_by"
    assert probe(gpt2, examples=same_end, folds=2, control_by="prompt")["labels"] == ["a", "b"]


def test_a_position_past_a_prompt_names_it(gpt2):
    with pytest.raises(AnalysisError, match="position 40 is out of range: the prompt has .* tokens") as e:
        probe(gpt2, examples=BY_FIRST, position=40, folds=2)
    assert e.value.option == "position"


def test_too_many_labels_or_prompts_are_refused_before_each_is_read():
    with pytest.raises(OptionError, match="names 201 labels; at most 200"):
        parse(examples={f"c{i}": ["a", "b"] for i in range(201)})
    with pytest.raises(OptionError, match="gives 1,000,000 prompts; at most 400"):
        parse(examples={"a": ["x"] * 999_998, "b": ["c", "d"]})  # duplicates, never looked at
    with pytest.raises(OptionError, match="names the label 'a' twice"):
        parse(examples=[["a", ["x", "y"]], ["a", ["z", "w"]]])
