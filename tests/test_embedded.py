"""The course in lessons/ built on the embedded SmolLM2-135M-Instruct: real numbers, offline pages."""

import json

import pytest
import torch

from lmreport import models
from tests.build.test_build import assert_no_outside_urls
from tests.conftest import REPO

pytestmark = pytest.mark.embedded


def test_every_number_and_claim_of_the_course_holds(embedded_build):
    """The course's prose takes every number about the model from the build, and every claim holds."""
    _, summary = embedded_build
    assert summary.warnings == [] and summary.claims_failed == 0 and summary.skipped == 0
    assert summary.references >= 200 and summary.pages == 13  # 12 lessons and the index


def test_course_builds_offline_with_paris_on_top(embedded_site):
    data = json.loads((embedded_site / "data" / "01-next-token-1-topk.json").read_text())
    top = data["data"]["predictions"][0]
    assert top["token"] == " Paris"
    # Independent check: softmax of the embedded model's logits, computed here.
    loaded = models.load(models.resolve(None))
    enc = loaded.tokenizer("The capital of France is", return_tensors="pt")
    with torch.no_grad():
        probs = torch.softmax(loaded.model(**enc).logits[0, -1].double(), -1)
    assert top["prob"] == pytest.approx(float(probs.max()), abs=1e-6)
    assert 0.7 < top["prob"] < 0.85
    assert loaded.n_layers == 30 and loaded.config.num_attention_heads == 9
    assert loaded.config.num_key_value_heads == 3 and loaded.vocab_size == 49152
    assert data["model"]["name"] == "SmolLM2-135M-Instruct.Q4_1" and data["model"]["kind"] == "gguf"


def test_logit_lens_output_row_is_paris(embedded_site):
    data = json.loads((embedded_site / "data" / "04-logit-lens-1-logit_lens.json").read_text())["data"]
    assert len(data["layers"]) == 31
    assert data["top_tokens"][-1][-1][0] == " Paris"


def test_attention_has_all_heads(embedded_site):
    data = json.loads((embedded_site / "data" / "02-attention-1-attention.json").read_text())["data"]
    assert (data["n_layers"], data["n_heads"], data["kv_heads"]) == (30, 9, 3)


def test_no_page_references_an_outside_url(embedded_site):
    assert_no_outside_urls(embedded_site)
    pages = sorted(p.name for p in embedded_site.glob("*.html"))
    lessons = sorted(p.stem + ".html" for p in (REPO / "lessons").glob("*.md"))
    assert pages == sorted(lessons + ["404.html", "index.html"])


def test_keys_to_the_cabinet_are(embedded_site, capsys):
    """" are" vs " is" after "The keys to the cabinet": checked against ranks found by sorting."""
    data = json.loads((embedded_site / "data" / "06-agreement-1-compare_tokens.json").read_text())["data"]
    loaded = models.load(models.resolve(None))
    enc = loaded.tokenizer("The keys to the cabinet", return_tensors="pt")
    with torch.no_grad():
        out = loaded.model(**enc, output_hidden_states=True)
        rows = [loaded.model.lm_head(loaded.model.model.norm(h[0, -1])) for h in out.hidden_states[:-1]]
        rows.append(out.logits[0, -1])
    by_name = {c["text"]: c for c in data["candidates"]}
    for text in (" is", " are"):
        token = loaded.tokenizer(text, add_special_tokens=False)["input_ids"]
        assert len(token) == 1
        expected = [int((row > row[token[0]]).sum()) + 1 for row in rows]
        assert by_name[text]["ranks"] == expected
    assert data["candidates"][data["winner"]]["text"] == " are"
    with capsys.disabled():
        print("\n  layer:  " + " ".join(f"{i:>5}" for i in range(0, 31, 5)))
        for text in (" is", " are"):
            print(f"  {text!r:>6}: " + " ".join(f"{by_name[text]['ranks'][i]:>5}" for i in range(0, 31, 5)))


def test_the_course_builds_for_a_second_model(tmp_path, capsys):
    """The course, written for SmolLM2, rebuilt for a tiny random GPT-2 (SmolLM2's tokenizer, so that its
    candidate tokens are single tokens): it builds, no reference is an error, and the claims that state what
    SmolLM2 does fail or are n/a there, each a warning at its line."""
    import shutil

    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    from lmreport.build import BuildOptions, build

    source = models.resolve(None)
    folder = tmp_path / "tiny-gpt2"
    tokenizer = AutoTokenizer.from_pretrained(models.load(source).tokenizer.name_or_path)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_positions=256, n_embd=64, n_layer=6, n_head=4,
                               bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
                    ).save_pretrained(folder)
    summary = build(BuildOptions(lessons_dir=REPO / "lessons", site_dir=tmp_path / "site", model=str(folder),
                                 cache_dir=tmp_path / "cache", progress=False))
    failed = [w for w in summary.warnings if "does not hold" in w]
    na = [w for w in summary.warnings if "is n/a for this model" in w]
    assert summary.pages == 13 and len(failed) == summary.claims_failed > 0
    # Besides claims: what an analysis warns of at its block on this model (a block naming layer 12 of 6 is not
    # drawn; patching's corrupted run shares the clean one's answer, so its gap is small), each at its line.
    import re

    noted = [w for w in summary.warnings if re.search(r"\.md:\d+: [a-z_]+( on [^:]+)?: ", w)]
    assert {re.search(r"\.md:\d+: ([a-z_]+)", w).group(1) for w in noted} <= {"hidden_map", "patching"}, noted
    assert sorted(failed + na + noted) == sorted(summary.warnings)  # nothing else went wrong
    with capsys.disabled():
        print(f"\n  {summary.references} numbers and claims; {summary.claims_failed} claims fail and {len(na)} "
              "references are n/a on a tiny random GPT-2:")
        for w in summary.warnings:
            print("   ", w.split("lessons/", 1)[1][:160])
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)
