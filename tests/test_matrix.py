"""A model matrix: one build, every lesson on each model, a switcher, comparison pages with the prose's numbers
and claims per model; results computed on one machine and rendered on another."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from lmreport import models
from lmreport.build import BuildOptions, build
from lmreport.cli import main
from lmreport.errors import BuildFailed, LmreportError

from .conftest import write_lesson


def opts(root: Path, **kw) -> BuildOptions:
    """A quiet build of root/lessons into root/site, cache in root/cache, on the models kw names."""
    return BuildOptions(**{"lessons_dir": root / "lessons", "site_dir": root / "site", "cache_dir": root / "cache",
                           "progress": False, **kw})


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


def matrix_lesson(root: Path, claim_token: str) -> None:
    write_lesson(root / "lessons", "01-next.md", f"""# Next token

```lmreport
analysis: topk
id: c
prompt: "{PROMPT}"
k: 3
```

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


@pytest.mark.parametrize("models_yaml, message", [
    ("models: smollm2", "'models' in course.yml must be a list of models"),
    ("models:\n  - model: x\n    colour: red", "model 1 of 'models': unknown key 'colour'"),
    ("models:\n  - label: x", "model 1 of 'models': 'model' is missing"),
    ("models:\n  - model: x\n    folder: compare", "folder 'compare' must be lower-case letters"),
    ("models:\n  - model: x\n    folder: ../up", "folder '../up' must be lower-case letters"),
    ("models:\n  - 3", "model 1 of 'models': 'model' must be text"),
])
def test_course_models_errors_name_their_line(tmp_path, tiny_models, models_yaml, message):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / "lessons" / "course.yml").write_text(f"title: t\n{models_yaml}\n")
    with pytest.raises(BuildFailed) as e:
        build(opts(tmp_path))
    assert [str(x).split("lessons/")[1] for x in e.value.errors][0].startswith("course.yml:2: ")
    assert message in str(e.value)


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


def test_results_only_then_from_results_renders_without_loading_a_model(tmp_path, tiny_models, tops, monkeypatch):
    gpt2, llama = str(tiny_models["gpt2"]), str(tiny_models["llama"])
    matrix_lesson(tmp_path, tops["gpt2"][0])
    for kind, spec in (("gpt2", gpt2), ("llama", llama)):  # two CI jobs, each with its own cache
        summary = build(opts(tmp_path, model=spec, results_only=tmp_path / kind,
                                      cache_dir=tmp_path / f"cache-{kind}"))
        assert summary.results_dir == tmp_path / kind and summary.computed == 2
        assert not (tmp_path / "site").exists()
    manifest = json.loads((tmp_path / "gpt2" / "models.json").read_text())
    assert manifest["matrix"] == [gpt2] and manifest["sources"][gpt2]["name"] == "gpt2"

    def no_model(*args, **kwargs):
        raise AssertionError("--from-results loaded a model")

    monkeypatch.setattr(models, "load", no_model)
    monkeypatch.setattr(models, "resolve", no_model)
    summary = build(opts(tmp_path, cache_dir=tmp_path / "render-cache",
                                  from_results=(tmp_path / "gpt2", tmp_path / "llama")))
    assert summary.models == ["gpt2", "llama"] and summary.model_loads == 0 and summary.cached == 4
    page = (tmp_path / "site" / "llama" / "01-next.html").read_text()
    assert f"{tops['llama'][1]:.6f}" in page
    claim = cells((tmp_path / "site" / "compare" / "index.html").read_text(), "?c.top ==")
    assert claim[0] == "✓" and claim[1].startswith("✗")

    # A block the results do not hold is an error at its line, naming the folders; nothing is loaded.
    with open(tmp_path / "lessons" / "01-next.md", "a") as f:
        f.write('\n```lmreport\nanalysis: topk\nprompt: "Another prompt"\n```\n')
    with pytest.raises(BuildFailed) as e:
        build(opts(tmp_path, cache_dir=tmp_path / "render-cache",
                            from_results=(tmp_path / "gpt2",)))
    assert "01-next.md:17: topk: no result for this block on gpt2 in" in str(e.value)
    # A model no folder has results for is named with what the folders hold.
    with pytest.raises(LmreportError, match="no results for model 'smollm2' in .*they have: "):
        build(opts(tmp_path, model="smollm2", from_results=(tmp_path / "gpt2",)))


def test_results_only_refuses_a_folder_it_did_not_write(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(LmreportError, match="holds no models.json; not writing into it"):
        build(opts(tmp_path, model=str(tiny_models["gpt2"]), results_only=tmp_path / "mine"))
    with pytest.raises(LmreportError, match="was not written by 'lmreport build --results-only'"):
        build(opts(tmp_path, model=str(tiny_models["gpt2"]), from_results=(tmp_path / "mine",)))
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_cli_model_given_twice_is_a_matrix(tmp_path, tiny_models, tops, capsys):
    matrix_lesson(tmp_path, tops["gpt2"][0])
    code = main(["build", str(tmp_path / "lessons"), "-o", str(tmp_path / "site"), "--cache-dir",
                 str(tmp_path / "cache"), "--model", str(tiny_models["gpt2"]), "--model", str(tiny_models["llama"])])
    assert code == 0
    out = capsys.readouterr().out
    assert "for 2 models (gpt2, llama) with 1 comparison pages" in out and "llama: 0 of 1 claims hold" in out
    assert (tmp_path / "site" / "llama" / "01-next.html").is_file()


def test_forward_passes_keep_only_what_the_prompts_analyses_read(tmp_path, tiny_models, monkeypatch):
    """Attention weights (layers × heads × n²) are kept only for a prompt an attention view reads."""
    kept: dict[str, set[str]] = {}
    run_ids = models.LoadedModel.run_ids

    def recording(self, label, ids, needs=models.EVERYTHING):
        kept[label] = set(needs)
        forward = run_ids(self, label, ids, needs)
        assert (forward.attentions is None) == ("attentions" not in needs)
        assert (forward.hidden_states is None) == ("hidden_states" not in needs)
        return forward

    monkeypatch.setattr(models.LoadedModel, "run_ids", recording)
    write_lesson(tmp_path / "lessons", "01-a.md", """# a

```lmreport
analysis: topk
prompt: "Only the output"
```

```lmreport
analysis: logit_lens
prompt: "The lens"
```

```lmreport
analysis: topk
prompt: "The lens"
```

```lmreport
analysis: attention
prompt: "Where it looks"
```
""")
    summary = build(opts(tmp_path, model=str(tiny_models["gpt2"])))
    assert summary.forward_passes == 3
    assert kept == {"Only the output": set(), "The lens": {"hidden_states"}, "Where it looks": {"attentions"}}
