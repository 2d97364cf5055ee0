"""A model folder may carry Python (an auto_map naming modeling_*.py beside config.json): lmreport never runs
it, never asks whether to, and says which folder and file asked, before transformers sees the folder."""

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from lmreport import models
from lmreport.build import build
from lmreport.errors import BuildFailed, LmreportError
from tests.conftest import build_options, write_lesson

# Each module, when imported, leaves a file named RAN beside it: the proof that code from the folder ran.
CODE = {
    "configuration_evil.py": "from transformers import GPT2Config\n\n\nclass EvilConfig(GPT2Config):\n    pass\n",
    "modeling_evil.py": "from transformers import GPT2LMHeadModel\n\n\nclass EvilModel(GPT2LMHeadModel):\n    pass\n",
    "tokenization_evil.py": "from transformers import PreTrainedTokenizerFast\n\n\n"
    "class EvilTokenizer(PreTrainedTokenizerFast):\n    pass\n",
}
MARKER = 'from pathlib import Path\n\nPath(__file__).with_name("RAN").write_text("x")\n'

MODEL_MAP = {"AutoModelForCausalLM": "modeling_evil.EvilModel", "AutoConfig": "configuration_evil.EvilConfig"}
TOKENIZER_MAP = {"AutoTokenizer": ["tokenization_evil.EvilTokenizer", None]}
# (file that carries the auto_map, the auto_map, the Python files the message must name)
CASES = {
    "config.json": ("config.json", MODEL_MAP, ["modeling_evil.py", "configuration_evil.py"]),
    "tokenizer_config.json": ("tokenizer_config.json", TOKENIZER_MAP, ["tokenization_evil.py"]),
    "generation_config.json": ("generation_config.json", MODEL_MAP, ["modeling_evil.py"]),
    "preprocessor_config.json": ("preprocessor_config.json", {"AutoProcessor": "processing_evil.EvilProcessor"},
                                 ["processing_evil.py"]),
}


def evil_folder(root: Path, tiny_gpt2: Path, config_file: str, auto_map: dict) -> Path:
    """A copy of the tiny GPT-2 whose config_file asks transformers to run the Python beside it."""
    folder = root / "evil"
    shutil.copytree(tiny_gpt2, folder)
    path = folder / config_file
    config = json.loads(path.read_text()) if path.exists() else {}
    config["auto_map"] = auto_map
    path.write_text(json.dumps(config))
    for name, body in CODE.items():
        (folder / name).write_text(MARKER + body)
    (folder / "processing_evil.py").write_text(MARKER)
    return folder


def assert_refused(error: Exception, folder: Path, config_file: str, code_files: list[str]) -> None:
    message = str(error)
    assert f"model folder '{folder}' asks to run its own Python code (auto_map in {config_file}" in message
    assert message.endswith("lmreport never runs code from a model folder")
    for name in code_files:
        assert name in message
    assert not (folder / "RAN").exists()


@pytest.mark.parametrize("config_file, auto_map, code_files", CASES.values(), ids=CASES.keys())
def test_resolve_refuses_a_folder_that_asks_to_run_its_code(tmp_path, tiny_models, config_file, auto_map, code_files):
    folder = evil_folder(tmp_path, tiny_models["gpt2"], config_file, auto_map)
    with pytest.raises(LmreportError) as e:
        models.resolve(str(folder))
    assert_refused(e.value, folder, config_file, code_files)


@pytest.mark.parametrize("config_file, auto_map, code_files", CASES.values(), ids=CASES.keys())
def test_load_refuses_it_too(tmp_path, tiny_models, forget_models, config_file, auto_map, code_files):
    """Defence in depth: a source made without resolve() (or a folder changed since) is checked again."""
    folder = evil_folder(tmp_path, tiny_models["gpt2"], config_file, auto_map)
    source = models.ModelSource(str(folder), "evil", "dir", folder, "0" * 64)
    with pytest.raises(LmreportError) as e:
        models.load(source)
    assert_refused(e.value, folder, config_file, code_files)
    assert models._LOADED == {}


def test_unknown_model_type_does_not_prompt_either(tmp_path, tiny_models, forget_models, monkeypatch):
    """With no built-in class to fall back on, transformers would ask on the terminal; lmreport stops first."""
    folder = evil_folder(tmp_path, tiny_models["gpt2"], "config.json", MODEL_MAP)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "evil"}))

    def no_prompt(*args):
        raise AssertionError("asked on the terminal")

    monkeypatch.setattr("builtins.input", no_prompt)
    source = models.ModelSource(str(folder), "evil", "dir", folder, "0" * 64)
    for attempt in (lambda: models.resolve(str(folder)), lambda: models.load(source)):
        with pytest.raises(LmreportError) as e:
            attempt()
        assert_refused(e.value, folder, "config.json", ["modeling_evil.py"])


def test_hub_snapshot_that_asks_to_run_code_is_refused(tmp_path, tiny_models, monkeypatch):
    from huggingface_hub import constants

    hub = tmp_path / "hf" / "hub" / "models--test-org--evil"
    snapshot = hub / "snapshots" / "0123456789abcdef0123456789abcdef01234567"
    snapshot.parent.mkdir(parents=True)
    shutil.move(evil_folder(tmp_path, tiny_models["gpt2"], "config.json", MODEL_MAP), snapshot)
    (hub / "refs").mkdir(parents=True)
    (hub / "refs" / "main").write_text(snapshot.name)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(LmreportError) as e:
        models.resolve("test-org/evil")
    assert_refused(e.value, snapshot, "config.json", ["modeling_evil.py"])


def test_lesson_naming_such_a_model_fails_at_its_model_line_before_any_load(tmp_path, tiny_models, forget_models):
    folder = evil_folder(tmp_path, tiny_models["gpt2"], "config.json", MODEL_MAP)
    lesson = write_lesson(
        tmp_path / "lessons", "01-a.md",
        f"# Evil\n\n```lmreport\nanalysis: topk\nprompt: The capital of\nmodel: {folder}\n```\n",
    )
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    [error] = e.value.errors
    assert (error.path, error.line) == (lesson, 6)
    assert_refused(error, folder, "config.json", ["modeling_evil.py"])
    assert models._LOADED == {}
    assert not (tmp_path / "site").exists()


BAD_JSON = {
    "config.json not JSON": ("config.json", b"{not json"),
    "tokenizer_config.json not UTF-8": ("tokenizer_config.json", b'{"model_max_length": "\xff"}'),
    "generation_config.json an array": ("generation_config.json", b"[]"),
    "config.json nested too deep": ("config.json", b"[" * 100_000 + b"]" * 100_000),
}


@pytest.mark.parametrize("name, content", BAD_JSON.values(), ids=BAD_JSON.keys())
def test_malformed_config_file_is_a_clear_error(tmp_path, tiny_models, name, content):
    folder = tmp_path / "model"
    shutil.copytree(tiny_models["gpt2"], folder)
    (folder / name).write_bytes(content)
    with pytest.raises(LmreportError) as e:
        models.resolve(str(folder))
    assert f"model folder '{folder.resolve()}' has a malformed {name}" in str(e.value)


def record_calls(monkeypatch, classes: dict[str, type], fakes: dict[str, object] | None = None) -> list:
    """Replace cls.from_pretrained with a wrapper that records (class name, kwargs), then calls the original
    (or returns fakes[name])."""
    calls: list[tuple[str, dict]] = []
    for name, cls in classes.items():
        original = cls.from_pretrained

        def wrapper(*args, _name=name, _original=original, **kwargs):
            calls.append((_name, kwargs))
            return fakes[_name] if fakes and _name in fakes else _original(*args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", wrapper)
    return calls


@pytest.mark.parametrize("kind, model_class", [("gpt2", "AutoModelForCausalLM"), ("bert", "AutoModel")])
def test_every_load_call_says_trust_remote_code_false(tiny_models, forget_models, monkeypatch, kind, model_class):
    import transformers

    classes = {name: getattr(transformers, name)
               for name in ("AutoConfig", "AutoModel", "AutoModelForCausalLM", "AutoTokenizer")}
    calls = record_calls(monkeypatch, classes)
    models.load(models.resolve(str(tiny_models[kind])))
    assert {name for name, _ in calls} >= {"AutoConfig", model_class, "AutoTokenizer"}
    assert all(kwargs.get("trust_remote_code", "missing") is False for _, kwargs in calls), calls


def test_gguf_conversion_says_trust_remote_code_false(tmp_path, monkeypatch):
    import transformers

    monkeypatch.setenv("LMREPORT_CACHE_HOME", str(tmp_path / "home"))

    def save(folder):
        (Path(folder) / "config.json").write_text("{}")

    fakes = {
        "AutoModelForCausalLM": SimpleNamespace(config=SimpleNamespace(), save_pretrained=save),
        "AutoTokenizer": SimpleNamespace(save_pretrained=lambda folder: None),
    }
    calls = record_calls(monkeypatch, {name: getattr(transformers, name) for name in fakes}, fakes)
    source = models.ModelSource("m.gguf", "m", "gguf", tmp_path, "1" * 64, "m.gguf")
    assert (models.converted_folder(source) / "config.json").is_file()
    assert [name for name, _ in calls] == ["AutoModelForCausalLM", "AutoTokenizer"]
    assert all(kwargs["gguf_file"] == "m.gguf" and kwargs.get("trust_remote_code", "missing") is False
               for _, kwargs in calls), calls
