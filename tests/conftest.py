"""Shared fixtures: tiny random models built from a config (no downloads), and one embedded-model build."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
CORPUS = [
    "The capital of France is Paris. The capital of Italy is Rome.",
    "The keys to the cabinet are on the table. The key is here.",
    "Alice and Bob went to the shop. Then Alice gave a book to Bob.",
    "1, 1, 1, 1, 2, 3, 5, 8, 13 and so on.",
]


def _tokenizer(folder: Path):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS, vocab_size=320, min_frequency=1, special_tokens=["<|endoftext|>"])
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|endoftext|>", bos_token="<|endoftext|>")
    tok.save_pretrained(folder)
    return tok


def _save_tiny(folder: Path, kind: str) -> Path:
    import torch
    from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tok = _tokenizer(folder)
    vocab = len(tok)
    if kind == "gpt2":
        model = GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_positions=64, n_embd=32, n_layer=3, n_head=4,
                                           bos_token_id=0, eos_token_id=0))
    elif kind == "llama":
        model = LlamaForCausalLM(
            LlamaConfig(
                vocab_size=vocab,
                hidden_size=48,
                intermediate_size=96,
                num_hidden_layers=3,
                num_attention_heads=6,
                num_key_value_heads=2,
                max_position_embeddings=64,
                tie_word_embeddings=True, bos_token_id=0, eos_token_id=0,
            )
        )
    else:
        model = BertModel(
            BertConfig(
                vocab_size=vocab,
                hidden_size=32,
                num_hidden_layers=2,
                num_attention_heads=4,
                intermediate_size=64,
                max_position_embeddings=64,
            )
        )
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Folders holding tiny random GPT-2, Llama (grouped-query attention) and BERT models."""
    root = tmp_path_factory.mktemp("models")
    return {kind: _save_tiny(root / kind, kind) for kind in ("gpt2", "llama", "bert")}


@pytest.fixture(scope="session")
def gpt2(tiny_models):
    from lmreport import models

    return models.load(models.resolve(str(tiny_models["gpt2"])))


@pytest.fixture(scope="session")
def llama(tiny_models):
    from lmreport import models

    return models.load(models.resolve(str(tiny_models["llama"])))


@pytest.fixture(scope="session")
def bert(tiny_models):
    from lmreport import models

    return models.load(models.resolve(str(tiny_models["bert"])))


@pytest.fixture(scope="session")
def smollm2():
    """The embedded SmolLM2-135M-Instruct (converted once into the user cache)."""
    from lmreport import models

    return models.load(models.resolve(None))


@pytest.fixture
def forget_models():
    """Drop loaded models, so a test can count loads from a cold process."""
    from lmreport import models

    saved = dict(models._LOADED)
    models._LOADED.clear()
    yield
    models._LOADED.clear()
    models._LOADED.update(saved)


def build_options(root: Path, model: Path, **kw):
    """Options of a quiet build of root/lessons into root/site with its cache in root/cache."""
    from lmreport.build import BuildOptions

    settings = {"lessons_dir": root / "lessons", "site_dir": root / "site", "model": str(model),
                "cache_dir": root / "cache", "progress": False, **kw}
    return BuildOptions(**settings)


def opts(root: Path, **kw):
    """Options of a quiet build of root/lessons into root/site, cache in root/cache, on the model or models kw
    names (none: the course's, or the embedded one)."""
    from lmreport.build import BuildOptions

    return BuildOptions(**{"lessons_dir": root / "lessons", "site_dir": root / "site", "cache_dir": root / "cache",
                           "progress": False, **kw})


def write_lesson(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def embedded_build(tmp_path_factory):
    """The course in lessons/ built once on the embedded SmolLM2 model: (site folder, build summary)."""
    from lmreport.build import BuildOptions, build

    out = tmp_path_factory.mktemp("embedded")
    site = out / "site"
    summary = build(BuildOptions(lessons_dir=REPO / "lessons", site_dir=site, cache_dir=out / "cache",
                                 progress=False))
    return site, summary


@pytest.fixture(scope="session")
def embedded_site(embedded_build) -> Path:
    return embedded_build[0]

