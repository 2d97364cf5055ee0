"""Independent computations for the analysis tests: each reads the model's modules by their own names."""

import torch

from lmreport import analyses

NORM = {"gpt2": lambda m: m.transformer.ln_f, "llama": lambda m: m.model.norm, "smollm2": lambda m: m.model.norm}


def run(loaded, prompt, **kwargs):
    enc = loaded.tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        return loaded.model(**enc, **kwargs)


def lens_log_probs(loaded, prompt, kind):
    """[layer+1, pos, vocab] log-probs: every hidden state through the named final norm and lm_head;
    the last row is the model's own output."""
    out = run(loaded, prompt, output_hidden_states=True)
    norm = NORM[kind](loaded.model)
    with torch.no_grad():
        rows = [torch.log_softmax(loaded.model.lm_head(norm(h[0])).double(), -1) for h in out.hidden_states[:-1]]
    rows.append(torch.log_softmax(out.logits[0].double(), -1))
    return torch.stack(rows)


def rank_by_sorting(log_probs_row, token_id):
    """1-based rank by sorting the whole vocabulary (descending)."""
    order = torch.argsort(log_probs_row, descending=True)
    return int((order == token_id).nonzero()[0, 0]) + 1


# Options that run every analysis on one prompt; analyses not named take just the prompt.
EVERY_PROMPT = "The keys to the cabinet"
_EXTRA = {
    "compare_prompts": {"prompts": [EVERY_PROMPT], "tokens": [" the", " is"]},
    "compare_tokens": {"prompt": EVERY_PROMPT, "tokens": [" the", " is"]},
    "generate": {"prompt": EVERY_PROMPT, "new_tokens": 2},
    "ablation": {"prompt": EVERY_PROMPT, "tokens": [" the"]},
    "patching": {"prompt": EVERY_PROMPT, "replace": ["cabinet", "table"]},
    "probe": {"examples": {"a": [EVERY_PROMPT, "The key"], "b": ["Alice gave", "Bob went to"]}, "folds": 2},
}


def options_for(name):
    """Options of a small run of analysis `name` on EVERY_PROMPT."""
    return _EXTRA.get(name, {"prompt": EVERY_PROMPT})


def compute(name, loaded, **options):
    """Analysis `name` computed on loaded's forward pass of its first prompt."""
    analysis = analyses.get(name)
    parsed = analysis.parse_options(options)
    return analysis.compute(loaded.forward(analysis.prompts(parsed)[0]), parsed, loaded)
