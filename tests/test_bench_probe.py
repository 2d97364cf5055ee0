"""The probe benchmark runs end to end on a tiny model, so it cannot rot (its numbers are not judged here)."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.bench


def test_probe_bench_runs_on_a_tiny_model(tmp_path, tiny_models):
    out = tmp_path / "probe.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.probe", "--model", str(tiny_models["llama"]), "--repeat", "1",
         "--positions=-1,1", "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert (result["prompts"], result["rows"], result["folds"]) == (64, 4, 5)
    assert len(result["fit_s_per_layer"]) == 4 and all(t > 0 for t in result["fit_s_per_layer"])
    assert result["batched_passes"] == len(result["lengths"]) and result["max_abs_difference"] <= 1e-5
    assert sorted(result["positions"]) == ["-1", "1"]
    for found in result["positions"].values():
        assert len(found["accuracy"]) == 4 and found["baseline"] == 0.5
        assert all(abs(a - c - s) < 1e-12 for a, c, s in zip(found["accuracy"], found["control"],
                                                             found["selectivity"], strict=True))
    assert "selectivity" in run.stdout and result["compute_s"] > 0
