"""The forward pass keeps only what its prompt's analyses read, and the sizes it reports (which prose may cite)
are the model's config."""

from __future__ import annotations

import pytest

from lmreport import models
from lmreport.build import build
from tests.conftest import opts, write_lesson


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


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_the_model_sizes_prose_may_cite_are_the_configs(kind, request):
    """The sizes `=id.layers` and the others cite, against the model's config and weights read directly."""
    loaded = request.getfixturevalue(kind)
    config = loaded.config
    shape = loaded.shape(loaded.forward("The keys to the cabinet"))
    heads = config.num_attention_heads
    assert shape == {
        "layers": config.num_hidden_layers, "heads": heads,
        "kv_heads": getattr(config, "num_key_value_heads", heads), "d_model": config.hidden_size,
        "d_head": config.hidden_size // heads,
        "d_ff": getattr(config, "intermediate_size", None) or 4 * config.hidden_size,
        "vocab": loaded.model.get_input_embeddings().weight.shape[0],
    }
