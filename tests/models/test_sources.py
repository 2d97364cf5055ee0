"""Finding a model: a folder that is missing or not a model, a hub id offline (from the local Hugging Face
cache, or a clear error), and a path in a lesson read from the lesson's folder."""

from __future__ import annotations

import json
import shutil

import pytest

from lmreport import cli
from lmreport.build import build
from lmreport.errors import BuildFailed
from tests.conftest import build_options, write_lesson


def test_model_that_does_not_exist(tmp_path, capsys):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    code = cli.main(
        ["build", str(tmp_path / "lessons"), "-o", str(tmp_path / "site"), "--model", str(tmp_path / "nope")]
    )
    assert code == 1
    assert f"error: model folder '{tmp_path / 'nope'}' does not exist" in capsys.readouterr().err
    bad = tmp_path / "notamodel"
    bad.mkdir()
    code = cli.main(["build", str(tmp_path / "lessons"), "-o", str(tmp_path / "site"), "--model", str(bad)])
    assert "is not a model folder (no config.json in it)" in capsys.readouterr().err


def test_lesson_model_that_does_not_exist_points_at_front_matter_directive(tmp_path, tiny_models):
    text = "---\nmodel: ./missing-model\n---\n\n```lmreport\nanalysis: topk\nprompt: hi\n```\n"
    write_lesson(tmp_path / "lessons", "01-a.md", text)
    with pytest.raises(BuildFailed) as e:
        build(build_options(tmp_path, tiny_models["gpt2"]))
    missing = tmp_path / "lessons" / "missing-model"  # read from the lesson's folder, not the current one
    assert str(e.value.errors[0]).endswith(
        f"01-a.md:5: topk: model './missing-model' (a path in a lesson is read from its folder): model folder "
        f"'{missing}' does not exist")


def test_unknown_hub_id_offline_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    code = cli.main(["build", str(tmp_path / "lessons"), "-o", str(tmp_path / "site"), "--model", "no-org/no-model"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert ("error: model 'no-org/no-model' is neither a local folder nor in the Hugging Face cache, "
            "and HF_HUB_OFFLINE is set") in err


def test_hub_id_loads_from_the_local_hugging_face_cache(tmp_path, tiny_models, monkeypatch, forget_models):
    """A hub id resolves offline to its cached snapshot, and the revision keys the result cache."""
    import shutil

    hub = tmp_path / "hf" / "hub" / "models--test-org--tiny-gpt2"
    snapshot = hub / "snapshots" / "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(tiny_models["gpt2"], snapshot)
    (hub / "refs").mkdir(parents=True)
    (hub / "refs" / "main").write_text(snapshot.name)
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))  # read at call time
    write_lesson(tmp_path / "lessons", "01-a.md", "```lmreport\nanalysis: topk\nprompt: The capital of\n```\n")
    summary = build(build_options(tmp_path, "test-org/tiny-gpt2"))
    assert summary.computed == 1 and summary.model_loads == 1
    data = json.loads((tmp_path / "site" / "data" / "01-a-1-topk.json").read_text())
    assert data["model"] == {"name": "test-org/tiny-gpt2", "kind": "hub", "revision": snapshot.name}


def test_a_model_path_in_a_lesson_is_read_from_the_lesson_folder(tmp_path, tiny_models, monkeypatch):
    shutil.copytree(tiny_models["gpt2"], tmp_path / "course" / "models" / "tiny")
    text = "---\nmodel: ../models/tiny\n---\n# A\n\n```lmreport\nanalysis: topk\nprompt: hi\n```\n"
    write_lesson(tmp_path / "course" / "lessons", "01-a.md", text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    build(build_options(tmp_path / "course", "smollm2"))
    data = json.loads((tmp_path / "course" / "site" / "data" / "01-a-1-topk.json").read_text())
    assert data["model"]["name"] == "tiny"
