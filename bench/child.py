"""One measurement in a fresh process (so that peak memory and model loading are its own).

    python -m bench.child TASK JSON_ARGS   ->   prints one JSON line with the numbers
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def task_build(args: dict) -> dict:
    """A course build; time counted from after the imports."""
    import torch  # noqa: F401  (imported before the clock starts, as in task_bare)
    import transformers  # noqa: F401

    from lmreport import models
    from lmreport.build import BuildOptions, build

    weights: dict[str, int] = {}
    unload = models.unload

    def counting_unload(source, runtime=None):  # a build with several models frees each one
        runtime = runtime or models.Runtime()
        loaded = models._LOADED.get(runtime.key(source))
        if loaded is not None:
            weights[source.key] = sum(p.numel() * 4 for p in loaded.model.parameters())
        unload(source, runtime)

    models.unload = counting_unload
    started = time.perf_counter()
    summary = build(BuildOptions(lessons_dir=Path(args["lessons"]), site_dir=Path(args["site"]),
                                 model=args.get("model"), models=tuple(args.get("models", ())),
                                 cache_dir=Path(args["cache"]), progress=False,
                                 device="cpu", dtype=args.get("dtype", "float32")))
    seconds = time.perf_counter() - started
    for loaded in models._LOADED.values():
        weights[loaded.source.key] = sum(p.numel() * 4 for p in loaded.model.parameters())
    return {"seconds": seconds, "computed": summary.computed, "cached": summary.cached,
            "model_loads": summary.model_loads, "forward_passes": summary.forward_passes,
            "pages": summary.pages, "peak_rss": peak_rss_bytes(), "fp32_weight_bytes": sum(weights.values()),
            "analyses": summary.analyses, "comparisons": summary.comparisons}


def task_bare(args: dict) -> dict:
    """The physical minimum of a build: load each model, run one forward pass per distinct prompt with the
    same outputs requested (hidden states, attentions), the generations the course asks for, and what its
    attribution and ablation blocks must compute (bench.run.required_passes). Its float32 linear layers multiply
    as the build's do (models/kernels.py: oneDNN where no gradient is recorded)."""
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

    from lmreport.models import kernels

    started = time.perf_counter()
    for folder, prompts, generations, *required in args["work"]:
        config = AutoConfig.from_pretrained(folder)
        causal = any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in config.architectures or [])
        cls = AutoModelForCausalLM if causal else AutoModel
        dtype = getattr(torch, args.get("dtype", "float32"))
        model = cls.from_pretrained(folder, attn_implementation="eager", dtype=dtype).eval()
        tokenizer = AutoTokenizer.from_pretrained(folder)
        with kernels.fast_linears(model):  # the build's kernel, so both sides multiply alike
            with torch.no_grad():
                for prompt in prompts:
                    model(**tokenizer(prompt, return_tensors="pt"), output_hidden_states=True, output_attentions=True)
                for prompt, new_tokens in generations:
                    ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
                    model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                                   do_sample=False, temperature=None, top_p=None, top_k=None,
                                   pad_token_id=tokenizer.eos_token_id)
            for need in required[0] if required else []:
                _required(model, tokenizer, need)
    return {"seconds": time.perf_counter() - started, "peak_rss": peak_rss_bytes()}


BATCH = 32  # sequences per batched pass of the bare minimum's attribution work


def _required(model, tokenizer, need: dict) -> None:
    """One attribution or ablation need (bench.run.required_passes) done the plainest way: `inputs` copies of the
    prompt's embeddings, scaled as a path from zero would scale them, in batches of BATCH, with the gradient of the
    last position's top logit where the method needs one; the ablation's variants one forward pass each."""
    import torch

    if need["kind"] == "texts":
        with torch.no_grad():
            for text in need["texts"]:
                model(**tokenizer(text, return_tensors="pt"))
        return
    ids = tokenizer(need["prompt"], return_tensors="pt")["input_ids"]
    embeddings = model.get_input_embeddings()(ids).detach()
    for start in range(0, need["inputs"], BATCH):
        count = min(BATCH, need["inputs"] - start)
        alphas = torch.linspace(0.01, 1.0, count)[:, None, None]
        if need["kind"] == "grad":
            inputs = (alphas * embeddings).requires_grad_(True)
            logits = model(inputs_embeds=inputs).logits[:, -1]
            logits.max(-1).values.sum().backward()
        else:
            with torch.no_grad():
                model(inputs_embeds=alphas * embeddings)


def task_load(args: dict) -> dict:
    """Loading the embedded model from its GGUF file (dequantizing) or from the converted weights."""
    import torch
    from transformers import AutoModelForCausalLM

    started = time.perf_counter()
    if args.get("gguf_file"):
        AutoModelForCausalLM.from_pretrained(args["folder"], gguf_file=args["gguf_file"], dtype=torch.float32)
    else:
        AutoModelForCausalLM.from_pretrained(args["folder"], attn_implementation="eager", dtype=torch.float32)
    return {"seconds": time.perf_counter() - started}


TASKS = {"build": task_build, "bare": task_bare, "load": task_load}


if __name__ == "__main__":
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    print(json.dumps(TASKS[sys.argv[1]](json.loads(sys.argv[2]))))
