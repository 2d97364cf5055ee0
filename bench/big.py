"""The course on a model of about a billion parameters, in float32 and bfloat16, against a bare script.

    python -m bench.big [--folder /tmp/lmreport-big] [--dtypes float32,bfloat16] [--out bench/results-big.json]

The model is a Llama of about 1B parameters with random weights, made from a config (no download) and
given the embedded SmolLM2's tokenizer, so the course's candidate tokens are single tokens: its numbers
mean nothing, its cost is real. For each precision: the course built with no cache (one fresh process,
wall time from after the imports and peak RSS), against the bare minimum of model work in another fresh
process (load the same models, one forward pass per distinct prompt with hidden states and attentions,
and the course's generations). Ratios are measured in one run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .run import child, course_work

REPO = Path(__file__).resolve().parent.parent

CONFIG = {"hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 16, "num_attention_heads": 32,
          "num_key_value_heads": 4, "max_position_embeddings": 2048, "tie_word_embeddings": False}


def make_model(folder: Path) -> int:
    """A random-weight Llama of about 1B parameters with SmolLM2's tokenizer; returns its parameter count."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from lmreport import models

    smollm2 = models.converted_folder(models.resolve(None))
    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    config = LlamaConfig(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, **CONFIG)
    if not (folder / "config.json").is_file():
        torch.manual_seed(0)
        with torch.device("cpu"):
            model = LlamaForCausalLM(config)
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    return _count(folder)


def _count(folder: Path) -> int:
    """Parameters in the saved weights, read from the safetensors headers."""
    import math

    from safetensors import safe_open

    total = 0
    for shard in folder.glob("*.safetensors"):
        with safe_open(shard, "pt") as f:
            total += sum(math.prod(f.get_slice(name).get_shape()) for name in f.keys())  # noqa: SIM118
    return total


def measure(folder: Path, dtype: str, lessons: Path) -> dict[str, Any]:
    work = course_work(lessons, str(folder))
    bare = child("bare", work=work, dtype=dtype)
    with tempfile.TemporaryDirectory() as tmp:
        built = child("build", lessons=str(lessons), site=f"{tmp}/site", cache=f"{tmp}/cache", model=str(folder),
                      dtype=dtype)
    return {"dtype": dtype, "build_seconds": built["seconds"], "build_peak_rss": built["peak_rss"],
            "bare_seconds": bare["seconds"], "bare_peak_rss": bare["peak_rss"],
            "time_ratio": built["seconds"] / bare["seconds"], "memory_ratio": built["peak_rss"] / bare["peak_rss"],
            "forward_passes": built["forward_passes"], "model_loads": built["model_loads"]}


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.big", description=__doc__.splitlines()[0])
    p.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "lmreport-big")
    p.add_argument("--dtypes", default="float32,bfloat16")
    p.add_argument("--lessons", type=Path, default=REPO / "lessons")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results-big.json")
    p.add_argument("--remove", action="store_true", help="delete the model folder afterwards")
    args = p.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    parameters = make_model(args.folder)
    rows = [measure(args.folder, dtype, args.lessons) for dtype in args.dtypes.split(",")]
    result = {"parameters": parameters, "config": CONFIG, "rows": rows}
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"random Llama, {parameters / 1e9:.2f}B parameters; the course, cold, no cache, on the CPU")
    print(f"{'dtype':<10}{'build s':>9}{'bare s':>9}{'ratio':>7}{'build GiB':>11}{'bare GiB':>10}{'ratio':>7}")
    for r in rows:
        print(f"{r['dtype']:<10}{r['build_seconds']:>9.1f}{r['bare_seconds']:>9.1f}{r['time_ratio']:>7.2f}"
              f"{r['build_peak_rss'] / 2**30:>11.2f}{r['bare_peak_rss'] / 2**30:>10.2f}{r['memory_ratio']:>7.2f}")
    if args.remove:
        shutil.rmtree(args.folder)


if __name__ == "__main__":
    main()
