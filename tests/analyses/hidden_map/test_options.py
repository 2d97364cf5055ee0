"""hidden_map's options: what the points are (prompts, examples or prompt, exactly one), and the options that
only fit some of them, each refused at its own line before any model work."""

from __future__ import annotations

import pytest

from lmreport import analyses, cli
from lmreport.analyses.options import OptionError
from tests.source.helpers import parse

SPEC = analyses.get("hidden_map")


def problems(block: str) -> list[tuple[int, str]]:
    """(line, message) of each problem of a lesson holding one hidden_map block (its fence on line 1)."""
    lesson, errors, _ = parse(f"```lmreport\nanalysis: hidden_map\n{block}\n```\n")
    assert errors == []
    _, option_errors = SPEC.validate(lesson.directives[0])
    return [(e.line, e.message) for e in option_errors]


@pytest.mark.parametrize("block, expected", [
    ("layer: 2", [(1, "hidden_map: give its points: prompts (a list: a point per prompt), examples (label: list of "
                      "prompts: a point per prompt, coloured by its label) or prompt (one prompt: a point per "
                      "token)")]),
    ("prompt: The key\nprompts: [a, b]", [(4, "hidden_map: give one of prompts, examples and prompt, not both "
                                              "prompt and prompts")]),
    ("prompt: The key\nposition: 1", [(4, "hidden_map: position picks the token of each prompt of prompts or "
                                          "examples; with prompt every token is a point (skip_first_token leaves "
                                          "the first out)")]),
    ("prompts: [a, b]\nskip_first_token: true", [(4, "hidden_map: skip_first_token is for prompt (a point per "
                                                     "token); with prompts each prompt is one point, at its "
                                                     "position")]),
    ("prompts: [a, b]\nseed: 3", [(4, "hidden_map: seed is for method tsne or umap: PCA has no randomness")]),
    ("prompts: [a, b, c]\nmethod: tsne", [(4, "hidden_map: method tsne needs at least 5 points; the block has 3 "
                                              "(use pca)")]),
    ("prompts: [a, b, c, d, e]\nmethod: umap", [(4, "hidden_map: method umap needs the package umap-learn, which "
                                                    "is not installed: pip install umap-learn (or use method tsne, "
                                                    "which needs nothing more)")]),
    ("prompts: [a, b]\nmethod: mds", [(4, "hidden_map: option 'method' 'mds' is not one of: pca, tsne, umap")]),
    ("prompts: [a]", [(3, "hidden_map: option 'prompts' must name at least 2, got 1")]),
    ("examples: [a, b]", [(3, "hidden_map: option 'examples' must map each label to a list of prompts, e.g. "
                              "{animal: [\"The word is dog\", \"The word is cat\"], colour: [\"The word is red\", "
                              "\"The word is blue\"]}; got ['a', 'b']")]),
    ("examples:\n  animal: [dog, cat]\n  colour: dog", [(3, "hidden_map: option 'examples' lists the prompt 'dog' "
                                                            "under two labels: a point has one label")]),
    ("examples:\n  1: [dog, cat]", [(3, "hidden_map: option 'examples' has the label 1: a label is text (put it "
                                        "in quotes)")]),
    ("examples:\n  animal: [dog, 3]", [(3, "hidden_map: option 'examples' label 'animal' must be a list of text, "
                                           "got ['dog', 3]")]),
    ("examples:\n  animal: dog", [(3, "hidden_map: option 'examples' lists one prompt: a map needs at least two "
                                      "points")]),
    # an option that does not parse gets its own message only, not one about how it fits the others
    ("prompts: [a, b]\nseed: x", [(4, "hidden_map: option 'seed' must be a whole number, got 'x'")]),
])
def test_problems_are_at_their_options_lines(block, expected):
    assert problems(block) == expected


def test_good_blocks_parse_and_examples_keep_their_order():
    assert problems("examples:\n  zebra: [a, b, c]\n  apple: [d, e]\nmethod: tsne\nseed: 1") == []
    options = SPEC.parse_options({"examples": {"zebra": ["a", "b", "c"], "apple": ["d", "e"]}, "method": "tsne"})
    assert options["examples"] == [["zebra", ["a", "b", "c"]], ["apple", ["d", "e"]]]
    assert SPEC.prompts(options) == ["a", "b", "c", "d", "e"]
    assert SPEC.prompts(SPEC.parse_options({"prompt": "The key"})) == ["The key"]
    assert SPEC.prompts(SPEC.parse_options({"prompts": ["x", "y"]})) == ["x", "y"]
    assert problems("prompt: The key\nskip_first_token: true\nlayer: 2") == []


def test_the_python_api_gets_the_same_checks():
    with pytest.raises(OptionError, match="give one of prompts, examples and prompt"):
        SPEC.parse_options({"prompt": "a", "examples": {"x": ["a", "b"]}})


def test_the_analyses_listing_describes_examples(capsys):
    assert cli.main(["analyses", "hidden_map"]) == 0
    out = capsys.readouterr().out
    assert "examples (dict, default None; 1 to 10 labels, 2 to 128 prompts in all)" in out
    assert "={id}.best_layer: the layer where the labels separate best" in out
