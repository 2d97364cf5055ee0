"""A model matrix: one build, every lesson on each model, a switcher, comparison pages with the prose's numbers
and claims per model."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from lmreport import models
from lmreport.build import build
from lmreport.cli import main
from lmreport.errors import BuildFailed, LmreportError
from tests.build.conftest import PROMPT, cells, matrix_lesson
from tests.conftest import opts, write_lesson


def test_matrix_builds_every_model_with_switcher_comparisons_and_claims_per_model(tmp_path, tiny_models, tops):
    gpt2, llama = str(tiny_models["gpt2"]), str(tiny_models["llama"])
    matrix_lesson(tmp_path, tops["gpt2"][0])
    for spec in (gpt2, llama):  # loaded by other tests of this process
        models.unload(models.resolve(spec))
    summary = build(opts(tmp_path, models=(gpt2, llama)))
    site = tmp_path / "site"
    assert summary.models == ["gpt2", "llama"] and summary.model_loads == 2 and summary.comparisons == 1
    assert summary.claims_failed == 0 and summary.others == ["llama: 0 of 1 claims hold"]
    # Each model was freed once its last block was done.
    assert not models.is_loaded(models.resolve(gpt2)) and not models.is_loaded(models.resolve(llama))
    for folder, kind in (("", "gpt2"), ("llama/", "llama")):
        page = (site / f"{folder}01-next.html").read_text()
        token, prob = tops[kind]
        assert f"{prob:.6f}" in page  # the prose's number, from this model
        assert re.search(r'<nav class="model-switch".*?</nav>', page, re.S)
        data = json.loads((site / f"{folder}data/01-next-1-topk.json").read_text())
        assert data["model"]["name"] == kind and data["data"]["predictions"][0]["prob"] == pytest.approx(prob)
    # The switch links the same page on each model, and every link resolves.
    for page in ("01-next.html", "llama/01-next.html", "index.html", "llama/index.html", "compare/index.html",
                 "compare/01-next-1.html"):
        text = (site / page).read_text()
        for target in re.findall(r'(?:href|src)="(?!data:)([^"#]+)', text):
            assert (site / page).parent.joinpath(target).resolve().exists(), (page, target)
    switch = re.search(r'<nav class="model-switch".*?</nav>', (site / "llama/01-next.html").read_text(), re.S)[0]
    assert 'href="../01-next.html"' in switch and 'href="../llama/01-next.html" aria-current="page"' in switch
    # The comparison page draws the block on both models and tabulates the prose's numbers per model.
    compare = (site / "compare/01-next-1.html").read_text()
    assert compare.count('<figure class="lmreport-figure') == 2 and 'id="m1-fig-1"' in compare
    assert cells(compare, "=c.top_prob") == [f"{tops['gpt2'][1]:.6f}", f"{tops['llama'][1]:.6f}"]
    claim = cells((site / "compare/index.html").read_text(), "?c.top ==")
    assert claim[0] == "✓" and claim[1].startswith("✗ not true for this model")
    # Attention views are not compared (BertViz ids are per page); no page for them.
    assert sorted(p.name for p in (site / "compare").iterdir()) == ["01-next-1.html", "index.html"]


def test_strict_judges_the_first_model_only(tmp_path, tiny_models, tops):
    """The prose is written for the first model: a claim that fails on another model is what the comparison
    shows, not an error, even with --strict; on the first model it is."""
    gpt2, llama = str(tiny_models["gpt2"]), str(tiny_models["llama"])
    matrix_lesson(tmp_path, tops["gpt2"][0])
    build(opts(tmp_path, models=(gpt2, llama), strict=True))
    with pytest.raises(BuildFailed, match=r"01-next.md:10: claim `\?c.top == .*` does not hold"):
        build(opts(tmp_path, models=(llama, gpt2), strict=True))


def test_course_config_lists_the_models_relative_to_itself(tmp_path, tiny_models, tops):
    shutil.copytree(tiny_models["llama"], tmp_path / "models" / "tiny-llama")
    matrix_lesson(tmp_path, tops["gpt2"][0])
    (tmp_path / "lessons" / "course.yml").write_text(
        f"title: Two models\nmodels:\n  - {tiny_models['gpt2']}\n"
        "  - model: ../models/tiny-llama\n    label: A tiny Llama\n    folder: llama-small\n")
    summary = build(opts(tmp_path))
    assert summary.models == ["gpt2", "A tiny Llama"]
    page = (tmp_path / "site" / "llama-small" / "01-next.html").read_text()
    assert f"{tops['llama'][1]:.6f}" in page and ">A tiny Llama</a>" in page
    # --model replaces the course's list.
    summary = build(opts(tmp_path, model=str(tiny_models["gpt2"])))
    assert summary.models == ["gpt2"] and not (tmp_path / "site" / "llama-small").exists()
    assert "model-switch" not in (tmp_path / "site" / "01-next.html").read_text()


def test_a_model_listed_twice_is_an_error(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    with pytest.raises(LmreportError, match="the model matrix lists gpt2 twice"):
        build(opts(tmp_path, models=(str(tiny_models["gpt2"]), str(tiny_models["gpt2"]) + "/")))


def test_block_with_its_own_model_is_computed_once_and_not_compared(tmp_path, tiny_models):
    gpt2, llama = str(tiny_models["gpt2"]), str(tiny_models["llama"])
    write_lesson(tmp_path / "lessons", "01-a.md", f"""# a

```lmreport
analysis: topk
prompt: "{PROMPT}"
model: {gpt2}
```
""")
    summary = build(opts(tmp_path, models=(llama, gpt2)))
    assert summary.computed == 1 and summary.analyses == 2 and summary.comparisons == 0
    assert not (tmp_path / "site" / "compare" / "01-a-1.html").exists()


def test_cli_model_given_twice_is_a_matrix(tmp_path, tiny_models, tops, capsys):
    matrix_lesson(tmp_path, tops["gpt2"][0])
    code = main(["build", str(tmp_path / "lessons"), "-o", str(tmp_path / "site"), "--cache-dir",
                 str(tmp_path / "cache"), "--model", str(tiny_models["gpt2"]), "--model", str(tiny_models["llama"])])
    assert code == 0
    out = capsys.readouterr().out
    assert "for 2 models (gpt2, llama) with 1 comparison pages" in out and "llama: 0 of 1 claims hold" in out
    assert (tmp_path / "site" / "llama" / "01-next.html").is_file()
