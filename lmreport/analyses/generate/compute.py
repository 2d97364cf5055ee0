"""Generate text (greedy, or sampled with a fixed seed) and show, for each new token, the alternatives
the model weighed, with their probabilities."""

from __future__ import annotations

from typing import Any

from lmreport.analyses.attention import ANALYSIS as ATTENTION
from lmreport.analyses.attention.compute import attention_data
from lmreport.errors import AnalysisError
from lmreport.models.forward import ForwardPass, LoadedModel

ATTENTION_LIMIT = ATTENTION.max_tokens or 256


def compute(forward: ForwardPass, options: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    import torch

    model.require_lm_head("generate")
    prompt_ids = torch.tensor([forward.input_ids], device=model.device)
    limit = model.max_positions
    if limit is not None and len(forward.input_ids) + options["new_tokens"] > limit:
        raise AnalysisError(f"the prompt ({len(forward.input_ids)} tokens) and {options['new_tokens']} new tokens are "
                            f"more than the {limit} positions {model.source.name} reads", "new_tokens")
    settings: dict[str, Any] = {"max_new_tokens": options["new_tokens"], "do_sample": options["sample"]}
    if options["sample"]:
        settings.update(temperature=options["temperature"], top_k=0, top_p=1.0)
    else:
        settings.update(temperature=None, top_k=None, top_p=None)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(options["seed"])
        out = model.model.generate(
            prompt_ids,
            attention_mask=torch.ones_like(prompt_ids),
            return_dict_in_generate=True,
            output_logits=True,
            pad_token_id=model.tokenizer.pad_token_id or model.tokenizer.eos_token_id,
            **settings,
        )
    new_ids = out.sequences[0, prompt_ids.shape[1]:].tolist()
    # The probabilities shown are those of the distribution each token came from: the softmax of the logits
    # divided by the temperature when sampling (no top-k or top-p cut), of the logits themselves when greedy.
    temperature = options["temperature"] if options["sample"] else 1.0
    steps = []
    for chosen, logits in zip(new_ids, out.logits, strict=False):
        raw = torch.log_softmax(logits[0].double().cpu(), -1)
        log_probs = torch.log_softmax(logits[0].double().cpu() / temperature, -1)
        top = torch.topk(log_probs, options["k"])
        alt_ids = top.indices.tolist()
        steps.append({
            "id": chosen,
            "token": model.token_texts([chosen])[0],
            "prob": float(log_probs[chosen].exp()),
            "prob_t1": float(raw[chosen].exp()),
            "rank": int((log_probs > log_probs[chosen]).sum()) + 1,
            "alternatives": [{"id": i, "token": t, "prob": float(p)}
                             for i, t, p in zip(alt_ids, model.token_texts(alt_ids), top.values.exp().tolist(),
                                                strict=True)],
        })
    data: dict[str, Any] = {
        "tokens": forward.tokens,
        "input_ids": forward.input_ids,
        "steps": steps,
        "text": model.tokenizer.decode(new_ids),
        "temperature": temperature,  # of the distribution the tokens came from (1 when greedy)
        "attention": None,
        "distribution": (f"sampled from softmax(logits / {temperature:g}) (temperature {temperature:g}, no top-k or "
                         f"top-p cut), seed {options['seed']}" if options["sample"]
                         else "greedy: the most likely token; softmax of the logits (temperature 1)"),
    }
    if options["attention"]:
        if len(forward.input_ids) + len(new_ids) > ATTENTION_LIMIT:
            raise AnalysisError(f"attention views draw at most {ATTENTION_LIMIT} tokens; prompt and generated "
                                f"text are {len(forward.input_ids) + len(new_ids)}", "attention")
        full = model.run_ids(forward.prompt + " + generated", forward.input_ids + new_ids)
        data["attention"] = attention_data(full, views=options["views"], layer=0)
    return data
