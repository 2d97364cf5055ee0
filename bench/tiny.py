"""A tiny GPT-2 with random weights and the embedded SmolLM2's tokenizer, made from a config (no download).

    python -m bench.tiny FOLDER

The second model of the matrix benchmark and of the README's matrix example: its numbers mean nothing, but
every candidate token of the course is one token for it, as for SmolLM2, so every block of the course runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

CONFIG = {"n_embd": 64, "n_layer": 4, "n_head": 4, "n_positions": 1024}


def make_tiny_gpt2(folder: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    from lmreport import models

    if (folder / "config.json").is_file():
        return folder
    tokenizer = AutoTokenizer.from_pretrained(models.converted_folder(models.resolve(None)))
    config = GPT2Config(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                        eos_token_id=tokenizer.eos_token_id, **CONFIG)
    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    folder = make_tiny_gpt2(parser.parse_args().folder)
    print(f"a tiny random GPT-2 in {folder}")


if __name__ == "__main__":
    main()
