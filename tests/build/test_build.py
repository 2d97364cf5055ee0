"""The build end to end on a tiny model: pages, figures and JSON, all errors at file:line together, the old site
kept, no outside URLs."""

import json
import re
from pathlib import Path

import pytest

from lmreport import analyses, cli
from lmreport.build import build
from lmreport.errors import BuildFailed
from tests.conftest import build_options, write_lesson

GOOD = """---
title: Logits <b>&</b> friends
---

Some *prose*.

```lmreport
analysis: topk
prompt: The capital of France is
k: 5
```

More prose.

```lmreport
analysis: logit_lens
prompt: The capital of France is
```
"""

ATTENTION = """# Attention

```lmreport
analysis: attention
prompt: Alice gave a book to Bob
```
"""


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_build_writes_pages_figures_and_json(tmp_path, tiny_models, forget_models):
    write_lesson(tmp_path / "lessons", "02-logits.md", GOOD)
    write_lesson(tmp_path / "lessons", "01-attention.md", ATTENTION)
    summary = build(build_options(tmp_path, tiny_models["gpt2"]))
    site = tmp_path / "site"
    assert summary.pages == 3 and summary.analyses == 3 and summary.computed == 3
    assert summary.forward_passes == 2  # one per distinct prompt, shared by topk and logit_lens
    assert summary.model_loads == 1
    index = (site / "index.html").read_text()
    assert index.index("01-attention.html") < index.index("02-logits.html")
    page = (site / "02-logits.html").read_text()
    assert "Logits &lt;b&gt;&amp;&lt;/b&gt; friends" in page and "<b>&</b>" not in page
    assert 'href="01-attention.html"' in page and 'rel="prev"' in page
    assert "assets/bokeh.min.js" in page and "assets/bertviz.js" not in page
    attention_page = (site / "01-attention.html").read_text()
    assert "assets/bertviz.js" in attention_page and "assets/d3.v5.min.js" in attention_page
    # footer: model and its hash, library versions, build date
    assert "gpt2" in page and "transformers" in page and "Built 20" in page
    links = re.findall(r'href="(data/[^"]+\.json)"', page)
    assert links == ["data/02-logits-1-topk.json", "data/02-logits-2-logit_lens.json"]
    topk = json.loads((site / links[0]).read_text())
    assert topk["options"]["prompt"] == "The capital of France is"
    assert topk["model"]["name"] == "gpt2" and len(topk["model"]["revision"]) == 64
    assert len(topk["data"]["predictions"]) == 5 and topk["data"]["tokens"]
    assert (site / "assets" / "bokeh.min.js").stat().st_size > 100_000


def test_no_outside_urls_in_any_page(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "02-logits.md", GOOD)
    write_lesson(tmp_path / "lessons", "01-attention.md", ATTENTION)
    build(build_options(tmp_path, tiny_models["llama"]))
    assert_no_outside_urls(tmp_path / "site")


def assert_no_outside_urls(site: Path) -> None:
    pattern = re.compile(
        r"<(script|link|img|iframe|source|video|audio)\b[^>]*\b(src|href)\s*=\s*[\"']?([^\"' >]+)", re.I
    )
    pages = list(site.glob("*.html"))
    assert pages
    for page in pages:
        for _, _, url in pattern.findall(page.read_text()):
            assert not re.match(r"^([a-z]+:)?//", url, re.I), f"{page.name} loads {url}"
            assert not url.startswith("/"), f"{page.name} uses a root-absolute URL {url} (breaks on a subpath)"
    for script in (site / "assets").glob("*.js"):
        text = script.read_text()
        assert "cdnjs" not in text and "require.config" not in text and "sourceMappingURL" not in text


def test_all_errors_reported_together_and_old_site_kept(tmp_path, tiny_models, capsys):
    write_lesson(tmp_path / "lessons", "02-logits.md", GOOD)
    build(build_options(tmp_path, tiny_models["gpt2"]))
    before = snapshot(tmp_path / "site")
    bad = GOOD.replace("k: 5", "kk: 5") + "\n```lmreport\nanalysis: topp\nprompt: x\n```\n"
    bad += "\n```lmreport\nanalysis: logit_lens\n```\n\n```lmreport\nanalysis: topk\nprompt: hi\nk: ten\n```\n"
    write_lesson(tmp_path / "lessons", "02-logits.md", bad)
    write_lesson(tmp_path / "lessons", "03-broken.md", "```lmreport\nanalysis: topk\nprompt: [x\n```\n")
    code = cli.main(
        [
            "build",
            str(tmp_path / "lessons"),
            "-o",
            str(tmp_path / "site"),
            "--model",
            str(tiny_models["gpt2"]),
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
    )
    err = capsys.readouterr().err
    lessons = (tmp_path / "lessons").as_posix()
    assert code == 1
    assert f"{lessons}/02-logits.md:10: topk: unknown option 'kk' (valid: prompt, k, position, temperature, xmax, " \
        "scale_with, title, model, id); did you mean 'k'?" in err
    valid = ", ".join(sorted(analyses.REGISTRY))
    assert f"{lessons}/02-logits.md:21: unknown analysis 'topp' (valid: {valid}); did you mean 'topk'?" in err
    assert f"{lessons}/02-logits.md:25: logit_lens: missing option 'prompt' (the text given to the model)" in err
    assert f"{lessons}/02-logits.md:32: topk: option 'k' must be a whole number, got 'ten'" in err
    assert f"{lessons}/03-broken.md:3: lmreport block: malformed YAML" in err
    assert "build failed: 5 errors; the previous site was left as it was" in err
    assert snapshot(tmp_path / "site") == before


def test_errors_found_while_computing_name_the_line(tmp_path, tiny_models):
    long_prompt = " ".join(["word"] * 200)
    text = f"```lmreport\nanalysis: topk\nprompt: {long_prompt}\n```\n\n"
    text += "```lmreport\nanalysis: topk\nprompt: hi\nk: 999\n```\n"
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    messages = [str(x).split("lessons/", 1)[1] for x in e.value.errors]
    assert len(messages) == 1
    assert messages[0].startswith("01-a.md:3: topk: the prompt is ") and "gpt2 reads at most 64" in messages[0]
    assert not (tmp_path / "site").exists()
    # More tokens than the vocabulary holds: the block is not drawn on this model (an error with --strict).
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"], strict=True))
    assert "01-a.md:6: topk on gpt2: the block asks for k 999, and the model's vocabulary has" in str(e.value)


def test_strict_turns_warnings_into_errors(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", "---\ncolour: red\n---\n# a\n")
    assert build(build_options(tmp_path, tiny_models["gpt2"])).warnings
    with pytest.raises(BuildFailed, match="01-a.md:2: unknown front matter key 'colour'"):
        build(build_options(tmp_path, tiny_models["gpt2"], strict=True))


def test_a_bad_link_fails_before_any_model_work(tmp_path, tiny_models, forget_models):
    from lmreport import models

    text = "# a\n\n[x](javascript:alert(1))\n\n```lmreport\nanalysis: topk\nprompt: hi\n```\n"
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    with pytest.raises(BuildFailed, match="01-a.md:3: link to 'javascript:alert"):
        build(build_options(tmp_path, tiny_models["gpt2"]))
    assert models._LOADED == {}
