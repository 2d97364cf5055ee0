"""The playground's tokenizer in JavaScript (lmreport/playground/static/tokenizer.js), run under node, against the
Hugging Face tokenizer it reads: the same ids for the same text, and each token's text as LoadedModel.token_texts
shows it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import browser
from tests.conftest import _tokenizer

RUNNER = Path(__file__).with_name("tokenizer_runner.cjs")
SCRIPT = Path(__file__).resolve().parents[2] / "lmreport" / "playground" / "static" / "tokenizer.js"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

CASES = [
    # plain sentences
    "The capital of France is Paris.",
    "Hello, world!",
    "Alice and Bob went to the shop. Then Alice gave a book to Bob.",
    "Mr. O'Neil's 3rd-floor café costs €4.50 (≈$5).",
    # spaces, tabs, newlines
    " leading space",
    "trailing space ",
    "   three leading spaces",
    "multiple   inner    spaces",
    " ",
    "  ",
    "tab\tseparated\tvalues",
    "line one\nline two",
    "\n\nblank lines\n\n\n",
    "windows\r\nline endings",
    "mixed \t \n whitespace  \n",
    "trailing newline\n",
    "non\u00a0breaking, ideographic\u3000space, next\u0085line, bom\ufeffchar, zero\u200bwidth",
    "a \u0085b \ufeffc \u2028d",  # the Rust library's \s is Unicode's White_Space: U+0085 is, U+FEFF is not
    # digits
    "1234567890",
    "3.14159265358979323846264338327950288",
    "in 2024, 1,000,000 people",
    "0x1F 007 1e-9 ٣٤٥",
    # punctuation
    "Wait... what?!",
    "(parentheses) [brackets] {braces} <angles>",
    "\"quoted\" and 'single' and `back`",
    "--- *** ### @@@ ~~~",
    "a-b_c.d/e\\f|g",
    # contractions
    "don't",
    "I'M here, you're there, we'll see, they've gone, she'd go, it's HIS",
    "rock 'n' roll, 'tis, o'clock",
    "DON'T 'S 'LL",
    "'LLAMA 'Sup 'DEAR 'sup",
    # accented Latin and other scripts
    "café naïve résumé",
    "Ærøskøbing Straße ÅSTRÖM ñandú",
    "e\u0301 combining accent",
    "Привет, мир",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    # CJK
    "日本語のテキスト",
    "中文文本，标点符号。",
    "한국어 텍스트",
    # emoji
    "I love 🍕 and 🎉!",
    "family: 👨\u200d👩\u200d👧\u200d👦",
    "flags 🇫🇷🇯🇵 and thumbs 👍🏽",
    "❤️ ©®™ ∑∫√",
    # code
    "def f(x):\n    return x ** 2\n",
    "for (let i = 0; i < n; i++) {\n\tconsole.log(i);\n}",
    '<div class="a">&nbsp;</div>',
    "SELECT * FROM t WHERE id = 42;",
    # special tokens (SmolLM2's chat template; the tiny tokenizer knows only <|endoftext|>)
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
    "<|im_start|>assistant\n",
    "<|endoftext|>",
    "text<|endoftext|>more text <|endoftext|> ",
    "<|im_start|><|im_end|><|endoftext|>",
    "<|im_start <<|im_end|>> <|endoftext",
    # empty, and long words
    "",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 500,
    "ab" * 300 + " " + "xyz" * 200,
]

PROMPT_128 = (
    "Once upon a time, in a small village at the edge of a great forest, there lived an old clockmaker named Elias. "
    "Every morning he opened the shutters of his shop, wound the hundred clocks that hung on its walls, and listened "
    "until they all ticked together. The children of the village believed that his clocks kept the sun on its path, "
    "and that if they ever stopped, the day would never end. One winter, a stranger arrived with a broken watch and a "
    "story nobody believed. He said it had stopped at the very moment his daughter was born, in a city far to the "
    "south, and that he had walked for three years to find someone who could mend it."
)


def run_node(tokenizer_json: Path, tmp_path: Path, texts: list[str], decode: list[int] = (),
             time: str | None = None) -> dict:
    """What tokenizer.js gives for texts (ids), for the ids in decode (token texts), and how long time takes."""
    request = tmp_path / "request.json"
    payload = {"texts": texts, "decode": list(decode)}
    if time is not None:
        payload["time"] = time
    request.write_text(json.dumps(payload), encoding="utf-8")
    done = subprocess.run(["node", str(RUNNER), str(tokenizer_json), str(request)], capture_output=True, text=True,
                          encoding="utf-8", timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_same_ids(texts: list[str], expected: list[list[int]], got: list[list[int]]) -> None:
    wrong = [(text, want, have) for text, want, have in zip(texts, expected, got, strict=True) if want != have]
    assert not wrong, "\n".join(f"{text!r}: HF {want}, JS {have}" for text, want, have in wrong)


def assert_same_texts(expected: list[str], got: list[str]) -> None:
    wrong = [(i, want, have) for i, (want, have) in enumerate(zip(expected, got, strict=True)) if want != have]
    assert not wrong, "\n".join(f"id {i}: Python {want!r}, JS {have!r}" for i, want, have in wrong[:20])


def test_tiny_tokenizer_ids(tmp_path):
    tokenizer = _tokenizer(tmp_path)
    got = run_node(tmp_path / "tokenizer.json", tmp_path, CASES)
    assert_same_ids(CASES, [tokenizer(text)["input_ids"] for text in CASES], got["ids"])


def test_tiny_tokenizer_token_texts(gpt2, tmp_path):
    gpt2.tokenizer.save_pretrained(tmp_path)
    ids = list(range(len(gpt2.tokenizer)))
    got = run_node(tmp_path / "tokenizer.json", tmp_path, [], decode=[*ids, len(ids) + 5])
    assert_same_texts(gpt2.token_texts(ids), got["tokens"][:-1])
    assert got["tokens"][-1] == ""  # an id past the vocabulary (a padded output row) shows nothing


@pytest.mark.embedded
def test_smollm2_ids_texts_and_speed(smollm2, tmp_path):
    tokenizer = smollm2.tokenizer
    tokenizer.save_pretrained(tmp_path)
    ids = list(range(len(tokenizer)))
    got = run_node(tmp_path / "tokenizer.json", tmp_path, CASES, decode=ids, time=PROMPT_128)
    assert_same_ids(CASES, [tokenizer(text)["input_ids"] for text in CASES], got["ids"])
    assert_same_texts(smollm2.token_texts(ids), got["tokens"])
    assert got["ms"]["tokens"] == len(tokenizer(PROMPT_128)["input_ids"]) >= 128
    assert got["ms"]["first"] < 250, got["ms"]  # a few ms on a laptop; generous for a busy CI machine


# Variants for what SmolLM2's tokenizer does not use (Llama 3's and Qwen 2's split patterns, Split's behaviours,
# digits, normalizers, added tokens' options, templates, ignore_merges), checked against the Rust library itself.
LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|"
          r"\s+(?!\S)|\s+")
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|"
         r"\s+(?!\S)|\s+")


def _variants() -> dict[str, Callable]:
    """Each variant: a function that changes a tokenizers.Tokenizer and returns it."""
    from tokenizers import AddedToken, Regex, Tokenizer, normalizers, pre_tokenizers, processors

    def byte_level_after(split):
        return pre_tokenizers.Sequence([split, pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])

    def pre(make):
        def change(tok):
            tok.pre_tokenizer = make()
            return tok
        return change

    def added(tok):
        tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
        tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=True)])
        tok.add_tokens([AddedToken("cab", single_word=True), AddedToken("rome", normalized=True, rstrip=True),
                        AddedToken("ΟΔΟΣ", normalized=False)])
        return tok

    def template(tok):
        tok.post_processor = processors.TemplateProcessing(
            single="<|endoftext|> $A <|endoftext|>", special_tokens=[("<|endoftext|>", 0)])
        return tok

    def ignore_merges(tok):
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        spec = json.loads(tok.to_str())
        spec["model"]["ignore_merges"] = True
        spec["model"]["vocab"]["Ġplugh"] = len(spec["model"]["vocab"])  # in the vocabulary, no merges lead to it
        return Tokenizer.from_str(json.dumps(spec))

    def split(behavior, invert=False):
        return pre(lambda: byte_level_after(pre_tokenizers.Split(Regex(r"\s+|[,.]"), behavior, invert=invert)))

    return {
        "gpt2-pattern": pre(lambda: pre_tokenizers.ByteLevel(add_prefix_space=False)),
        "prefix-space": pre(lambda: pre_tokenizers.ByteLevel(add_prefix_space=True)),
        "llama3": pre(lambda: byte_level_after(pre_tokenizers.Split(Regex(LLAMA3), "isolated"))),
        "qwen2": pre(lambda: byte_level_after(pre_tokenizers.Split(Regex(QWEN2), "isolated"))),
        "digits": pre(lambda: pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                       pre_tokenizers.ByteLevel(add_prefix_space=False)])),
        "split-string": pre(lambda: byte_level_after(pre_tokenizers.Split(" ", "merged_with_next"))),
        "split-removed": split("removed"),
        "split-inverted": split("isolated", invert=True),
        "split-merged-with-previous": split("merged_with_previous"),
        "split-merged-with-next": split("merged_with_next"),
        "split-contiguous": split("contiguous"),
        "added-tokens": added,
        "template": template,
        "ignore-merges": ignore_merges,
    }


VARIANT_CASES = CASES + [
    "<mask> x  <mask>  y<mask>z", "a cab, cabinet, taxicab, cab_1 (cab)", "ROME, Rome rome roman", "ΟΔΟΣ οδος ΟΔΟΣ",
    "THE CAPITAL OF ITALY", "the table", "The key is here.", "1, 1, 1, 2, 3, 5, 8, 13", "a plugh, plugh!",
    "ΛΟΓΟΣ ΚΑΙ ΜΥΘΟΣ",  # Rust lowercases one character at a time: no final sigma
]


@pytest.fixture(scope="module")
def across_boundaries() -> str:
    """A byte-level BPE trained on VARIANT_CASES as whole texts (tokenizer.json text): its merges cross the places
    where a pre-tokenizer splits, so that a piece split differently gives other ids. "plugh" is left out, for
    ignore_merges."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=3000, min_frequency=1, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([text for text in VARIANT_CASES if "plugh" not in text], trainer)
    return tok.to_str()


@pytest.mark.parametrize("variant", list(_variants()))
def test_tokenizer_variants(variant, across_boundaries, tmp_path):
    from tokenizers import Tokenizer

    tok = _variants()[variant](Tokenizer.from_str(across_boundaries))
    path = tmp_path / f"{variant}.json"
    path.write_text(tok.to_str(), encoding="utf-8")
    got = run_node(path, tmp_path, VARIANT_CASES)
    assert_same_ids(VARIANT_CASES, [tok.encode(text).ids for text in VARIANT_CASES], got["ids"])


def test_unsupported_parts_are_named(tmp_path):
    _tokenizer(tmp_path)
    spec = json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    spec["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"}
    spec["decoder"] = {"type": "Fuse"}
    path = tmp_path / "unsupported.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"texts": ["x"]}), encoding="utf-8")
    done = subprocess.run(["node", str(RUNNER), str(path), str(request)], capture_output=True, text=True,
                          encoding="utf-8", timeout=60, check=False)
    assert done.returncode != 0
    assert "pre_tokenizer Metaspace; decoder Fuse" in done.stderr


@pytest.mark.browser
@pytest.mark.skipif(not browser.available() and not os.environ.get("LMREPORT_REQUIRE_BROWSER"),
                    reason="needs Debian's chromium and chromium-driver")
def test_in_chromium_from_file_page(tmp_path):
    """As the playground loads it: plain scripts on a file:// page, the tokenizer JSON embedded in one of them."""
    tokenizer = _tokenizer(tmp_path)
    data = (tmp_path / "tokenizer.json").read_text(encoding="utf-8")
    (tmp_path / "tokenizer-data.js").write_text(f"window.tokenizerData = {data};\n", encoding="utf-8")
    (tmp_path / "page.html").write_text(
        f'<!doctype html><meta charset="utf-8"><script src="{SCRIPT.as_uri()}"></script>'
        '<script src="tokenizer-data.js"></script>', encoding="utf-8")
    with browser.chromium() as driver:
        driver.get((tmp_path / "page.html").as_uri())
        got = driver.execute_script(
            "const tok = window.LmreportTokenizer.fromJSON(window.tokenizerData);"
            "return [arguments[0].map((text) => tok.encode(text)), arguments[1].map((id) => tok.decodeToken(id))];",
            CASES, list(range(len(tokenizer))))
    assert_same_ids(CASES, [tokenizer(text)["input_ids"] for text in CASES], got[0])
    assert got[1] == run_node(tmp_path / "tokenizer.json", tmp_path, [], decode=range(len(tokenizer)))["tokens"]
