"""A lesson with hidden_map blocks through the whole build on a tiny model: one forward pass per prompt, its
values cited in prose, its page, JSON and CSV written; the second build takes it from the cache; a layer the model
lacks is a block not drawn, as for every analysis."""

from __future__ import annotations

import csv
import json

from lmreport.build import build
from tests.conftest import opts, write_lesson

LESSON = """# Map

```lmreport
analysis: hidden_map
id: words
examples:
  keys: ["The keys to the cabinet", "The key is here", "Alice gave a book"]
  numbers: ["1, 1, 2, 3", "5, 8, 13 and", "2, 3, 5"]
layer: 2
```

The map's axes show `=words.variance(1):.0%` of the variance at layer 1 `?words.variance(1) <= 1`; the labels
separate best at layer `=words.best_layer` `?words.best_separation >= words.separation(1)`.

```lmreport
analysis: hidden_map
prompt: The keys to the cabinet are on the table
skip_first_token: true
method: tsne
```

```lmreport
analysis: hidden_map
prompts: ["The keys to the cabinet", "The key is here"]
layer: 9
```
"""


def test_a_lesson_with_maps_builds_and_caches(tmp_path, tiny_models, forget_models):
    """From a cold model (forget_models): other tests' forward passes of the same prompts would be counted out."""
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON)
    summary = build(opts(tmp_path, model=str(tiny_models["gpt2"])))
    assert (summary.computed, summary.cached, summary.skipped) == (3, 0, 1)
    assert summary.forward_passes == 7  # the six examples and the one prompt: each once, shared by the blocks
    site = tmp_path / "site"
    page = (site / "01-a.html").read_text()
    assert page.count('data-lmr-component="hidden_map"') == 2
    assert 'src="assets/hidden_map.js"' in page and (site / "assets" / "hidden_map.js").is_file()
    assert 'class="hidden-map-layer" min="0" max="3" step="1" value="2"' in page
    assert "Not drawn: hidden_map on gpt2: the block asks for layer 9, and the model has 3 blocks" in page
    data = json.loads((site / "data" / "01-a-1-hidden_map.json").read_text())["data"]
    rows = list(csv.reader((site / "data" / "01-a-1-hidden_map.csv").open()))
    assert rows[0] == ["layer", "point", "label", "x", "y", "token", "prompt"]
    assert [[float(r[3]), float(r[4])] for r in rows[1:]] == [xy for layer in data["coords"] for xy in layer]
    assert [r[2] for r in rows[1:7]] == ["keys"] * 3 + ["numbers"] * 3
    assert summary.claims_failed == 0 and summary.references == 4
    again = build(opts(tmp_path, model=str(tiny_models["gpt2"])))
    assert (again.computed, again.cached, again.forward_passes) == (0, 3, 0)
