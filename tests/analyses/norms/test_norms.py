"""Adding an analysis is one folder and one registry line: the norms analysis of this folder, registered here,
runs in a real build (numbers against the model's own hidden states, in fp64), is cited in prose, drawn with
its guide and CSV, cached, and its result is checked against its declared shape."""

from __future__ import annotations

import csv
import io
import json

import pytest
import torch

from lmreport import analyses
from lmreport.analyses.schema import ResultShapeError
from lmreport.build import build
from lmreport.errors import BuildFailed
from tests.conftest import build_options, write_lesson

LESSON = """# Norms

The residual stream is `=n.norm(0):.3f` long at the embeddings and `=n.norm():.3f` at the end.
`?n.largest_layer >= 0`

```lmreport
analysis: norms
id: n
prompt: "The keys to the cabinet"
```
"""


@pytest.fixture
def norms(monkeypatch):
    """The registry with the norms analysis added: the one registry line (the package's own analyses are the
    names in analyses.NAMES); the registry is restored after the test."""
    from tests.analyses.norms import ANALYSIS

    monkeypatch.setattr(analyses, "REGISTRY", dict(analyses.REGISTRY))
    analyses.register(ANALYSIS)
    return ANALYSIS


def residual_norms(folder, prompt: str) -> torch.Tensor:
    """[layer + 1, position] norms, independently: transformers' own hidden states in fp64, the last row taken as
    the final norm's input (transformers gives it after the norm)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager").double().eval()
    ids = AutoTokenizer.from_pretrained(folder)(prompt, return_tensors="pt")["input_ids"]
    seen = {}
    hook = model.transformer.ln_f.register_forward_pre_hook(lambda m, args: seen.setdefault("x", args[0]))
    with torch.no_grad():
        out = model(ids, output_hidden_states=True)
    hook.remove()
    rows = list(out.hidden_states[:-1]) + [seen["x"]]
    return torch.stack([r[0] for r in rows]).norm(dim=-1)


def test_a_new_analysis_is_one_folder_and_one_registry_line(tmp_path, tiny_models, norms):
    write_lesson(tmp_path / "lessons", "01-norms.md", LESSON)
    summary = build(build_options(tmp_path, tiny_models["gpt2"]))
    assert summary.computed == 1 and summary.claims_failed == 0
    data = json.loads((tmp_path / "site" / "data" / "01-norms-1-norms.json").read_text())["data"]
    expected = residual_norms(tiny_models["gpt2"], "The keys to the cabinet")
    torch.testing.assert_close(torch.tensor(data["norms"], dtype=torch.float64), expected, rtol=1e-5, atol=1e-7)
    assert data["mean"] == pytest.approx(expected.mean(-1).tolist(), rel=1e-5)
    assert data["model_shape"]["layers"] == len(data["layers"]) - 1
    page = (tmp_path / "site" / "01-norms.html").read_text()
    assert f"{expected[0].mean():.3f}" in page and f"{expected[-1].mean():.3f}" in page  # the prose's numbers
    assert "How to read this: The residual stream&#39;s length" in page  # its guide, escaped as text
    rows = list(csv.reader(io.StringIO((tmp_path / "site" / "data" / "01-norms-1-norms.csv").read_text())))
    assert rows[0] == ["layer", "mean_norm"] and len(rows) == len(data["layers"]) + 1
    assert float(rows[-1][1]) == pytest.approx(float(expected[-1].mean()), rel=1e-5)
    again = build(build_options(tmp_path, tiny_models["gpt2"]))
    assert again.cached == 1 and again.computed == 0


def test_the_new_analysis_is_listed_and_its_wrong_shape_is_caught(tmp_path, tiny_models, norms, monkeypatch):
    assert "norms" in analyses.unknown_message("norm")
    with pytest.raises(ResultShapeError, match="mean"):
        norms.check({"tokens": [], "layers": [], "norms": [], "model_shape": {}})
    # a compute() that renamed a key: the build stops at the block, naming the missing key
    real = norms.compute

    def renamed(forward, options, model):
        data = real(forward, options, model)
        data["average"] = data.pop("mean")
        return data

    from dataclasses import replace

    analyses.REGISTRY["norms"] = replace(norms, compute=renamed)
    write_lesson(tmp_path / "lessons", "01-norms.md", LESSON)
    with pytest.raises(BuildFailed) as failed:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    message = str(failed.value)
    assert "01-norms.md:" in message and "NormsResult" in message and "mean" in message
