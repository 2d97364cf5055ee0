"""--dtype and --device: every analysis runs in bfloat16 and float16 with numbers close to float32's; results
of another precision are kept apart; a device that is not there is a clear error."""

from __future__ import annotations

import json

import pytest
import torch

from lmreport import analyses, models
from lmreport.build import build
from lmreport.errors import AnalysisError, LmreportError
from tests.analyses.helpers import EVERY_PROMPT as PROMPT
from tests.analyses.helpers import options_for
from tests.conftest import build_options, write_lesson


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
def test_every_analysis_runs_in_lower_precision(tiny_models, kind, dtype):
    source = models.resolve(str(tiny_models[kind]))
    low = models.load(source, models.Runtime("cpu", dtype))
    full = models.load(source, models.Runtime("cpu", "float32"))
    assert next(low.model.parameters()).dtype == getattr(torch, dtype)
    for name in sorted(analyses.REGISTRY):
        analysis = analyses.get(name)
        options = analysis.parse_options(options_for(name))
        try:
            data = analysis.run(low.forward(analysis.prompts(options)[0]), options, low)
        except AnalysisError as e:  # next-token analyses on the encoder
            assert kind == "bert" and "encoder" in str(e), (name, str(e))
            continue
        assert data, name
    forward_low, forward_full = low.forward(PROMPT), full.forward(PROMPT)
    assert forward_low.hidden_states.dtype == torch.float32  # read back as float32 on the CPU
    assert torch.allclose(forward_low.attentions, forward_full.attentions, atol=0.05)
    if kind != "bert":
        assert torch.allclose(torch.softmax(forward_low.logits, -1), torch.softmax(forward_full.logits, -1),
                              atol=0.02)


def test_a_precision_is_part_of_the_result_and_its_cache_key(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", f"```lmreport\nanalysis: topk\nprompt: {PROMPT}\n```\n")
    assert build(build_options(tmp_path, tiny_models["gpt2"], device="cpu")).computed == 1
    full = json.loads((tmp_path / "site" / "data" / "01-a-1-topk.json").read_text())
    summary = build(build_options(tmp_path, tiny_models["gpt2"], device="cpu", dtype="bfloat16"))
    assert (summary.computed, summary.cached) == (1, 0)
    low = json.loads((tmp_path / "site" / "data" / "01-a-1-topk.json").read_text())
    assert "dtype" not in full["model"] and low["model"]["dtype"] == "bfloat16"
    assert low["data"]["predictions"][0]["prob"] == pytest.approx(full["data"]["predictions"][0]["prob"], abs=0.02)
    assert "· bfloat16</span>" in (tmp_path / "site" / "01-a.html").read_text()
    assert build(build_options(tmp_path, tiny_models["gpt2"], device="cpu", dtype="bfloat16")).cached == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_device_that_is_not_there_is_a_clear_error(tiny_models):
    with pytest.raises(LmreportError, match="device 'cuda' was asked for, but torch finds none on this machine"):
        models.load(models.resolve(str(tiny_models["gpt2"])), models.Runtime("cuda", "float32"))
    assert models.Runtime("auto").resolved_device() in ("cpu", "mps")
