"""The benchmark script runs end to end on a tiny model, so it cannot rot (its numbers are not judged here)."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, write_lesson

pytestmark = pytest.mark.bench


def test_bench_runs_on_a_tiny_model(tmp_path, tiny_models):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# A\n\nProse.\n\n```lmreport\nanalysis: topk\nprompt: The capital of\n```\n\n"
                 "```lmreport\nanalysis: logit_lens\nprompt: \"The keys to the\"\n```\n")
    write_lesson(lessons, "02-b.md", "# B\n\n```lmreport\nanalysis: generate\nprompt: Alice gave\nnew_tokens: 3\n```\n")
    out = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--lessons", str(lessons), "--model", str(tiny_models["gpt2"]), "--repeat",
         "1", "--lengths", "8,16", "--skip-browser", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(out.read_text())
    by_name = {f["name"]: f for f in results["figures"]}
    assert by_name["cold build vs bare minimum"]["ratio"] > 0
    assert by_name["warm rebuild, nothing changed"]["detail"]["model_loads"] == 0
    assert by_name["rebuild after one directive edit"]["ratio"] == 1  # one forward pass
    assert by_name["model load: converted vs GGUF"]["detail"]["skipped"]
    assert by_name["page weight: head + model view, 20 tokens"]["detail"]["tokens"] == 20
    assert by_name["forward pass cost by prompt length"]["detail"]["lengths"] == [8, 16]
    assert "cold build vs bare minimum" in run.stdout


def test_matrix_bench_runs_on_two_tiny_models(tmp_path, tiny_models):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# A\n\n```lmreport\nanalysis: topk\nprompt: The capital of\n```\n")
    out = tmp_path / "matrix.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.matrix", "--lessons", str(lessons), "--first", str(tiny_models["gpt2"]),
         "--second", str(tiny_models["llama"]), "--repeat", "1", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["matrix"]["model_loads"] == 2 and result["matrix"]["comparisons"] == 1
    assert result["time_ratio"] > 0 and "ratio" in run.stdout


def test_flow_bench_runs_on_a_tiny_model(tmp_path, tiny_models):
    out = tmp_path / "flow.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.flow", "--model", str(tiny_models["llama"]), "--tokens", "8", "--repeat", "1",
         "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["tokens"] == 8 and result["layers"] == 3 and result["ratio"] > 0
    assert 0 < result["figure_html_gzip_bytes"] < result["figure_html_bytes"] and "ratio" in run.stdout


def test_weight_bench_runs_on_a_tiny_model(tmp_path, tiny_models):
    out = tmp_path / "weight.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.weight", "--model", str(tiny_models["gpt2"]), "--tokens", "12", "--out",
         str(out)], cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["tokens"] == 12 and 0 < result["figure_bytes"] and result["ratio_to_json_format"] > 0


def test_attribution_bench_runs_on_a_tiny_model(tmp_path, tiny_models):
    out = tmp_path / "attribution.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.attribution", "--model", str(tiny_models["gpt2"]), "--repeat", "1", "--out",
         str(out)], cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    methods = ["saliency", "gradient_x_input", "integrated_gradients", "occlusion", "shapley", "lime", "kernel_shap"]
    assert [row["method"] for row in result["rows"]] == methods
    assert all(row["lmreport_s"] > 0 and row["captum_default_s"] > 0 for row in result["rows"])
    ig = result["rows"][2]  # integrated gradients, also at equal accuracy against a dense reference
    assert ig["lmreport_error"] >= 0 and ig["captum_default_error"] >= 0
    assert ig["captum_equal_points"] is None or ig["captum_equal_error"] <= ig["lmreport_error"]


@pytest.mark.embedded  # a browser
def test_playground_page_bench_runs_on_a_tiny_model(tmp_path, tiny_models):
    pytest.importorskip("onnxruntime")
    from lmreport.build import build
    from tests.conftest import opts

    write_lesson(tmp_path / "lessons", "01-a.md", '# A\n\n```lmreport\nanalysis: topk\nprompt: "the cat sat"\n```\n')
    (tmp_path / "lessons" / "course.yml").write_text("title: Bench\nplayground: fp32\n")
    build(opts(tmp_path, model=str(tiny_models["llama"])))
    out = tmp_path / "playground.json"
    run = subprocess.run([sys.executable, "-m", "bench.playground_page", "--site", str(tmp_path / "site"),
                          "--results", str(out)], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(out.read_text())
    assert sorted(results["forward"]) == ["10", "40", "64"]
    assert all(int(n) - 8 <= row["tokens"] <= int(n) for n, row in results["forward"].items()), results["forward"]
    assert results["max_dp_next_page_vs_python_onnxruntime"] < 1e-4 and results["browser_memory_gb"] > 0


def test_patching_bench_runs_on_a_tiny_model(tmp_path, tiny_models):
    out = tmp_path / "patching.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.patching", "--model", str(tiny_models["llama"]), "--prompt",
         "The keys to the cabinet", "--replace", "cabinet", "table", "--repeat", "1", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert (result["tokens"], result["rows"], result["cells"], result["cell_by_cell_passes"]) == (8, 4, 32, 33)
    assert result["max_abs_difference"] <= 1e-4 and result["lmreport_passes"] < result["cell_by_cell_passes"]
    assert result["lmreport_s"] > 0 and result["ratio"] > 0 and "ratio" in run.stdout


def test_peers_bench_runs_lmreports_side_on_a_tiny_model(tmp_path, tiny_models):
    """bench.peers in the project's own environment: TransformerLens is not installed, so its rows hold lmreport's
    time alone and say why (the peers' side runs with requirements-bench.txt)."""
    out = tmp_path / "peers.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.peers", "--model", str(tiny_models["llama"]), "--prompt", "The keys to the",
         "--repeat", "2", "--rows", "transformer_lens", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["threads"] == 1 and result["repeat"] == 2 and result["tokens"] and "forget" in result["protocol"]
    assert [r["analysis"] for r in result["rows"]] == ["logit_lens", "heads"]
    keys = {"analysis", "peer", "lmreport_s", "lmreport_runs", "peer_s", "peer_way", "ratio", "ways", "target", "met",
            "agreement", "skipped", "torch_linear_s", "torch_linear_ratio"}
    for row in result["rows"]:
        assert keys <= set(row) and row["lmreport_s"] > 0 and len(row["lmreport_runs"]) == 2
        assert row["torch_linear_s"] > 0  # the same call with torch's own linear, timed beside it
        if row["skipped"] is None:  # the peer is installed here after all: its numbers were compared and timed
            assert row["peer_s"] > 0 and row["ratio"] > 0 and row["agreement"]
        else:
            assert "transformer_lens" in row["skipped"] and row["peer_s"] is None and row["met"] is None
    assert "logit_lens" in run.stdout


def test_kernels_bench_runs_on_a_tiny_model(tmp_path, tiny_models):
    """bench.kernels: oneDNN against torch's linear on a model's own weights; the generated tokens are the same and
    the logits agree within float32 rounding (its timings are not judged here)."""
    from lmreport.models import kernels

    if not kernels.onednn_works():
        pytest.skip("this torch has no working oneDNN linear")
    out = tmp_path / "kernels.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench.kernels", "--model", str(tiny_models["llama"]), "--repeat", "1", "--rows", "1,5",
         "--lengths", "5,9", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert [r["rows"] for r in result["products"]] == [1, 5] and [r["tokens"] for r in result["forward"]] == [5, 9]
    for r in result["forward"]:
        assert r["max_abs_diff"] <= 1e-5 * max(1.0, r["largest_logit"]) and r["onednn_s"] > 0 and r["torch_s"] > 0
    assert result["generate"]["same_tokens"] and result["linears"] > 0
