"""bench/peers_attribution.py runs end to end on a tiny model, so it cannot rot (its numbers are not judged here):
lmreport's side alone, and against Captum (installed with lmreport; Inseq is not, so its row says why it is
skipped)."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.bench


def bench(tmp_path, model, *extra):
    out = tmp_path / "peers-attribution.json"
    run = subprocess.run([sys.executable, "-m", "bench.peers_attribution", "--model", str(model), "--repeat", "1",
                          "--steps", "8", "--out", str(out), *extra], cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "attribution: occlusion" in run.stdout
    return json.loads(out.read_text())


def test_the_attribution_peers_bench_runs_lmreports_side_alone(tmp_path, tiny_models):
    result = bench(tmp_path, tiny_models["gpt2"], "--no-peers")
    assert result["steps"] == 8 and result["tokens"]
    rows = {r["analysis"]: r for r in result["rows"]}
    assert sorted(rows) == ["attribution: IG", "attribution: occlusion"]
    assert all(r["lmreport_s"] > 0 and r["ratio"] is None and r["skipped"] for r in rows.values())
    assert rows["attribution: occlusion"]["target"] == 0.3


def test_the_attribution_peers_bench_checks_the_numbers_against_captum(tmp_path, tiny_models):
    pytest.importorskip("captum")
    result = bench(tmp_path, tiny_models["llama"])
    captum = [r for r in result["rows"] if r["peer"].startswith("Captum")]
    assert [r["analysis"] for r in captum] == ["attribution: IG", "attribution: occlusion"]
    for r in captum:
        assert r["ratio"] > 0 and r["fresh"]["ratio"] > 0 and r["agreement"]
        assert all(a["max_abs_diff"] <= 1e-4 * max(1.0, a["largest"]) for a in r["agreement"].values())
    assert captum[1]["floor"]["s"] > 0
    inseq = next(r for r in result["rows"] if r["peer"].startswith("Inseq"))
    assert inseq["ratio"] is not None or inseq["skipped"]
