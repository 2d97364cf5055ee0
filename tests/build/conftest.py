"""A two-model matrix for the build tests: the reference next token of each tiny model, and a lesson citing it."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
import torch

from tests.conftest import write_lesson

PROMPT = "The capital of Italy"  # the two tiny models disagree on what comes next


def reference_top(folder: Path, prompt: str = PROMPT) -> tuple[str, float]:
    """The most probable next token and its probability, straight from transformers."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    with torch.no_grad():
        logits = model(**tokenizer(prompt, return_tensors="pt")).logits[0, -1].double()
    probs = torch.softmax(logits, -1)
    top = int(probs.argmax())
    return tokenizer.decode([top]), float(probs[top])


@pytest.fixture(scope="module")
def tops(tiny_models) -> dict[str, tuple[str, float]]:
    found = {kind: reference_top(tiny_models[kind]) for kind in ("gpt2", "llama")}
    assert found["gpt2"][0] != found["llama"][0], "the test needs two models that disagree"
    return found


# A lesson's first lines: a title and a top-k block with id c on PROMPT.
TOPK_LESSON = f"""# Next token

```lmreport
analysis: topk
id: c
prompt: "{PROMPT}"
k: 3
```
"""


def matrix_lesson(root: Path, claim_token: str) -> None:
    write_lesson(root / "lessons", "01-next.md", TOPK_LESSON + f"""
The top token is `=c.top` at `=c.top_prob:.6f`. `?c.top == {json.dumps(claim_token)}`

```lmreport
analysis: attention
prompt: "{PROMPT}"
```
""")


def cells(page: str, header: str) -> list[str]:
    """The text of each cell of the table row whose header cell contains header."""
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", page, re.S) if header in html.unescape(r))
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
