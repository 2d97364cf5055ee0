"""The playground page, built for a tiny random Llama and opened from file:// in headless Chromium: the reader loads
the model, types a prompt, and the page's next-token, logit-lens and attention numbers equal an independent PyTorch
computation (the Hugging Face model called directly, final norm and unembedding applied here) within the export's
stated tolerance."""

from __future__ import annotations

import json
import os
import time

import pytest
import torch

from lmreport.build import build
from tests import browser
from tests.conftest import opts, write_lesson
from tests.playground.test_export import expected

pytest.importorskip("onnxruntime")

pytestmark = [
    pytest.mark.embedded,  # a browser test: `-m "not embedded"` leaves those out
    pytest.mark.skipif(not browser.available() and not os.environ.get("LMREPORT_REQUIRE_BROWSER"),
                       reason="needs Debian's chromium and chromium-driver"),
]

PROMPT = "the cat sat on the mat and the dog <b>ran</b>"


def _wait(driver, script: str, seconds: float = 600):
    """The first non-null value script returns, polled (a load takes seconds here, minutes on a busy machine)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value is not None:
            return value
        time.sleep(0.25)
    raise AssertionError(f"the page did not get there in {seconds} s: {script}")


def _greedy(model, ids, steps):
    """The model's own greedy decoding: each step's argmax appended, the whole sequence run again."""
    ids = list(ids)
    with torch.no_grad():
        for _ in range(steps):
            ids.append(int(model(torch.tensor([ids])).logits[0, -1].argmax()))
    return ids[-steps:]


def _reference(llama, prompt):
    """Next-token probabilities, the lens's probabilities per layer and position, and attention, from the Hugging
    Face model itself (test_export.expected: final norm and unembedding applied by hand)."""
    ids = llama.encode(prompt)
    reference = expected(llama, ids)
    next_probs = torch.softmax(reference["logits"].double(), -1)
    return ids, next_probs, reference["probs"], reference["attentions"].double()


# fp32: the page's numbers equal PyTorch's; int8 (blocked DequantizeLinear, opset 21): onnxruntime-web runs it,
# within the export's int8 tolerance.
@pytest.mark.parametrize("weights, tolerance", [("fp32", 1e-5), ("int8", 0.1)])
def test_the_playground_computes_in_the_page_what_pytorch_computes(tmp_path, tiny_models, llama, weights,
                                                                   tolerance):
    model_dir = tiny_models["llama"]
    write_lesson(tmp_path / "lessons", "01-a.md", '# A\n\n```lmreport\nanalysis: topk\nprompt: "the cat sat"\n```\n')
    (tmp_path / "lessons" / "course.yml").write_text(f"title: Playground\nplayground: {weights}\n")
    build(opts(tmp_path, model=str(model_dir)))
    site = tmp_path / "site"
    page = site / "playground.html"
    assert page.is_file() and 'href="playground.html"' in (site / "01-a.html").read_text()
    ids, next_probs, lens, attentions = _reference(llama, PROMPT)

    with browser.chromium(390, 900) as driver:
        driver.get(page.as_uri())
        driver.find_element("css selector", ".pg-load").click()
        # Polled: one script waiting longer than the driver's own HTTP timeout (120 s) would fail on a busy machine.
        status = _wait(driver, """const root = document.querySelector(".playground");
            const status = root.querySelector(".pg-status").textContent;
            return root.classList.contains("pg-ready") || /could not/.test(status) ? status : null;""")
        assert status.startswith("The model is loaded"), (status, browser.console_errors(driver))
        box = driver.find_element("css selector", ".pg-prompt")
        box.clear()
        box.send_keys(PROMPT)
        driver.find_element("css selector", ".pg-form button[type=submit]").click()
        _wait(driver, 'return document.querySelector(".playground").dataset.runs || null;')
        shown = driver.execute_script("""
            const q = (s) => Array.from(document.querySelectorAll(s));
            return {
              next: q(".pg-topk tbody tr").map((r) => [Number(r.dataset.id), Number(r.dataset.prob)]),
              lens: q(".pg-lens tbody tr").map((r) => Array.from(r.querySelectorAll("td"))
                .map((c) => [Number(c.dataset.id), Number(c.dataset.prob)])),
              attention: q(".pg-attention tbody tr").map((r) => Array.from(r.querySelectorAll("td"))
                .map((c) => Number(c.dataset.weight))),
              tokens: q(".pg-tokens .pg-token").map((t) => t.textContent),
              status: document.querySelector(".pg-status").textContent,
              html: document.querySelector(".pg-tokens").innerHTML,
            };""")
        driver.find_element("css selector", ".pg-greedy").click()
        continued = _wait(driver, 'return document.querySelector(".pg-continued").dataset.ids || null;')
        errors = browser.console_errors(driver)
        urls, failed = browser.requests_and_failures(driver)
    assert errors == [] and failed == []
    assert all(u.startswith(("file:", "blob:", "data:")) for u in urls), urls  # nothing leaves the page
    # The reader's text is text: its tokens are shown, never parsed as HTML.
    assert len(shown["tokens"]) == len(ids) and "<b>" not in shown["html"].replace("&lt;b&gt;", "")
    # Next token: the same ids in the same order, each probability within the fp32 tolerance.
    top = next_probs.topk(len(shown["next"]))
    if weights == "fp32":
        assert [i for i, _ in shown["next"]] == top.indices.tolist()
    assert [p for _, p in shown["next"]] == pytest.approx(next_probs[[i for i, _ in shown["next"]]].tolist(),
                                                          abs=tolerance)
    # Logit lens: rows from the output down to the embeddings, columns the last positions (up to 8).
    n = len(ids)
    first = max(0, n - 8)
    for row, layer in zip(shown["lens"], range(len(lens) - 1, -1, -1), strict=True):
        for (token, prob), t in zip(row, range(first, n), strict=True):
            assert prob == pytest.approx(float(lens[layer][t][token]), abs=tolerance)
            if weights == "fp32":
                assert token == int(lens[layer][t].argmax())
    # Attention: layer 1, the mean of its heads, every query and key.
    expected = attentions[0].mean(0)
    assert shown["attention"] == [pytest.approx(r, abs=tolerance) for r in expected.tolist()]
    # Greedy continuation: each step's most likely token, as the model's own greedy decoding gives them.
    continued = [int(i) for i in continued.split(",")]
    assert len(continued) == 5
    if weights == "fp32":
        assert continued == _greedy(llama.model, ids, 5)
    manifest = json.loads(page.read_text().split('id="playground-manifest">')[1].split("</script>")[0])
    assert manifest["weights"] == weights and manifest["check"]["next_max_dp"] <= {"fp32": 1e-4, "int8": 0.1}[weights]
