"""The playground's export: the ONNX graph against a torch computation written here (not lmreport's own lens), for
prompts of several lengths, in each weight format, on tiny random GPT-2 and Llama models."""

from __future__ import annotations

import json

import pytest

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from lmreport.errors import LmreportError  # noqa: E402
from lmreport.playground import check as checking  # noqa: E402
from lmreport.playground.export import export  # noqa: E402
from lmreport.playground.weights import INT8_BLOCK, quantise  # noqa: E402

# 1, 7 and 34 tokens with the tiny models' tokenizer: one graph, traced once, takes each length.
PROMPTS = ["The", "The capital of France is",
           "Alice and Bob went to the shop. Then Alice gave a book to Bob and the keys to the cabinet."]
TOP = 4
# Largest change allowed per output against torch in float32: (logits, probabilities, attention weights).
CLOSE = {"fp32": (1e-4, 1e-5, 1e-5), "fp16": (2e-2, 2e-3, 2e-3)}


@pytest.fixture(scope="module")
def exported(request, tmp_path_factory):
    """(model kind, weights) -> (the loaded model, its export folder, the export's report), each exported once."""
    done = {}

    def get(kind: str, weights: str):
        if (kind, weights) not in done:
            loaded = request.getfixturevalue(kind)
            folder = tmp_path_factory.mktemp(f"playground-{kind}-{weights}")
            done[kind, weights] = loaded, folder, export(loaded, folder, weights=weights, top=TOP,
                                                         check_prompts=PROMPTS[:2])
        return done[kind, weights]

    return get


def expected(loaded, ids: list[int]) -> dict:
    """What the graph should give, straight from the Hugging Face model: hidden states through the final norm and
    the unembedding by hand (its last hidden state is normed already), softmax, top-k."""
    import torch

    model = loaded.model
    norm = model.model.norm if hasattr(model, "model") else model.transformer.ln_f
    with torch.no_grad():
        out = model(torch.tensor([ids]), output_hidden_states=True, output_attentions=True)
        rows = [model.lm_head(norm(h[0])) for h in out.hidden_states[:-1]] + [model.lm_head(out.hidden_states[-1][0])]
    assert torch.allclose(rows[-1], out.logits[0], atol=1e-5)  # the last row is the model's own output
    probs = torch.softmax(torch.stack(rows).double(), dim=-1)  # [layer+1, n, vocab]
    top = torch.topk(probs, TOP, dim=-1)
    return {"logits": out.logits[0, -1], "probs": probs, "top_probs": top.values, "top_ids": top.indices,
            "attentions": torch.stack([a[0] for a in out.attentions])}


def run(folder, ids: list[int]) -> dict:
    import numpy as np

    names = ("logits", "lens_probs", "lens_ids", "attentions")
    outputs = checking.session(folder / "model.onnx").run(list(names), {"input_ids": np.array([ids], dtype=np.int64)})
    return dict(zip(names, outputs, strict=True))


@pytest.mark.parametrize("weights", ["fp32", "fp16"])
@pytest.mark.parametrize("kind", ["llama", "gpt2"])
def test_the_graph_gives_what_torch_computes_for_prompts_of_any_length(exported, kind, weights):
    import torch

    loaded, folder, report = exported(kind, weights)
    d_logits, d_probs, d_attention = CLOSE[weights]
    layers, heads = loaded.n_layers, loaded.shape()["heads"]
    lengths = set()
    for prompt in PROMPTS:
        ids = loaded.encode(prompt)
        lengths.add(len(ids))
        got, want = run(folder, ids), expected(loaded, ids)
        n = len(ids)
        assert got["logits"].shape == (loaded.vocab_size,) and got["logits"].dtype.name == "float32"
        assert got["lens_probs"].shape == (layers + 1, n, TOP) and got["lens_probs"].dtype.name == "float32"
        assert got["lens_ids"].shape == (layers + 1, n, TOP) and got["lens_ids"].dtype.name == "int64"
        assert got["attentions"].shape == (layers, heads, n, n) and got["attentions"].dtype.name == "float32"
        assert (torch.from_numpy(got["logits"]) - want["logits"]).abs().max() <= d_logits
        # The probabilities of the very tokens the graph names, and the top-k values (near-ties may swap ids).
        lens_ids = torch.from_numpy(got["lens_ids"])
        lens_probs = torch.from_numpy(got["lens_probs"]).double()
        assert (lens_probs - want["probs"].gather(-1, lens_ids)).abs().max() <= d_probs
        assert (lens_probs - want["top_probs"]).abs().max() <= d_probs
        clear = (want["top_probs"][..., 0] - want["top_probs"][..., 1]) > 1e-3  # a top-1 with no near-tie
        assert torch.equal(lens_ids[..., 0][clear], want["top_ids"][..., 0][clear])
        assert (torch.from_numpy(got["attentions"]) - want["attentions"]).abs().max() <= d_attention
    assert len(lengths) == len(PROMPTS)
    assert report["check"]["top1_equal"] == 2 and report["weights"] == weights


@pytest.mark.parametrize("kind", ["llama", "gpt2"])
def test_fp16_stores_the_weights_in_half_the_bytes_and_the_tied_embedding_once(exported, kind):
    loaded, fp32_folder, _ = exported(kind, "fp32")
    _, fp16_folder, report = exported(kind, "fp16")
    assert loaded.model.get_input_embeddings().weight is loaded.model.get_output_embeddings().weight  # tied
    ratio = (fp16_folder / "model.onnx").stat().st_size / (fp32_folder / "model.onnx").stat().st_size
    assert 0.45 < ratio < 0.6
    vocab, d_model = loaded.vocab_size, loaded.shape()["d_model"]
    for folder, dtype in ((fp32_folder, onnx.TensorProto.FLOAT), (fp16_folder, onnx.TensorProto.FLOAT16)):
        model = onnx.load(str(folder / "model.onnx"))
        tables = [t for t in model.graph.initializer if sorted(t.dims) == sorted([vocab, d_model])]
        assert [t.data_type for t in tables] == [dtype]
        assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
        assert not any(n.metadata_props for n in model.graph.node)  # no stack traces with this machine's paths
    assert report["stored"]["float16"] > 0 and report["stored"]["int8"] == 0


def test_int8_stores_matrix_weights_as_blocks_of_8_bit_integers(exported):
    loaded, folder, report = exported("llama", "int8")
    model = onnx.load(str(folder / "model.onnx"))
    dequantised = [n for n in model.graph.node if n.op_type == "DequantizeLinear"]
    assert len(dequantised) == report["stored"]["int8"] > 0
    assert all(onnx.helper.get_attribute_value(a) == INT8_BLOCK for n in dequantised for a in n.attribute
               if a.name == "block_size")
    table = next(t for t in model.graph.initializer if sorted(t.dims) == sorted([loaded.vocab_size, 48]))
    assert table.data_type == onnx.TensorProto.FLOAT16  # the embedding table (read by a Gather) stays float16
    assert report["opset"] >= 21 and report["check"]["top1_equal"] == 2
    assert report["check"]["max_dp_next"] <= checking.TOLERANCES["int8"]["next"]


def test_quantise_keeps_each_value_within_half_a_step_of_its_block():
    import numpy as np

    values = np.random.default_rng(0).normal(size=(70, 5)).astype(np.float32)
    values[3, 2] = 40.0  # an outlier coarsens its own block only
    q, scale = quantise(values, 0, 32)
    assert q.dtype == np.int8 and q.shape == values.shape and scale.shape == (3, 5)  # 70 = 32 + 32 + 6
    restored = q.astype(np.float32) * np.repeat(scale, 32, axis=0)[:70]
    assert (np.abs(restored - values) <= np.repeat(scale, 32, axis=0)[:70] / 2 + 1e-6).all()
    assert scale[1, 2] < 0.05 < scale[0, 2]
    q_t, scale_t = quantise(values.T.copy(), 1, 32)
    assert np.array_equal(q_t, q.T) and np.array_equal(scale_t, scale.T)


def test_the_folder_holds_the_tokenizer_and_a_description(exported):
    from tokenizers import Tokenizer

    loaded, folder, report = exported("llama", "fp16")
    described = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    assert described == json.loads(json.dumps(report))
    assert described["inputs"] == {"input_ids": {"dtype": "int64", "shape": [1, "n"]}}
    assert described["outputs"]["lens_ids"] == {"dtype": "int64", "shape": [4, "n", TOP]}
    assert described["outputs"]["attentions"]["shape"] == [3, 6, "n", "n"]
    assert (described["layers"], described["heads"], described["vocab"], described["top"]) == (3, 6, 320, TOP)
    assert described["tolerances"] == checking.TOLERANCES["fp16"]
    assert set(described["versions"]) >= {"torch", "onnx", "onnxruntime", "transformers"}
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    for prompt in described["check"]["prompts"]:
        assert tokenizer.encode(prompt["prompt"]).ids == prompt["input_ids"] == loaded.encode(prompt["prompt"])


def test_a_broken_tolerance_is_an_error(exported, monkeypatch):
    loaded, folder, _ = exported("llama", "fp16")
    monkeypatch.setitem(checking.TOLERANCES, "fp16", {**checking.TOLERANCES["fp16"], "next": 0.0})
    with pytest.raises(LmreportError, match=r"fp16 weights does not give the model's answers: a next-token"):
        checking.check(loaded, folder / "model.onnx", PROMPTS[:1], "fp16")


def test_unknown_weights_and_top_are_refused_before_exporting(llama, tmp_path):
    with pytest.raises(LmreportError, match="weights 'int4' is not one of fp32, fp16, int8"):
        export(llama, tmp_path, weights="int4")
    with pytest.raises(LmreportError, match="top must be between 1"):
        export(llama, tmp_path, top=0)
    assert not (tmp_path / "model.onnx").exists()
