"""Faults: killed builds, concurrent builds, a failing disk, an unwritable output or cache. Nothing is lost."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lmreport import cli
from lmreport.build import BuildOptions, build
from lmreport.site.writer import MARKER
from tests.conftest import write_lesson

LESSON = """# Faults {n}

```lmreport
analysis: topk
prompt: The capital of France is {n}
```

```lmreport
analysis: logit_lens
prompt: The keys to the cabinet {n}
```

```lmreport
analysis: attention
prompt: Alice gave a book to Bob {n}
```

```lmreport
analysis: hidden_states
prompt: Then Alice gave {n}
```
"""


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def build_command(root: Path, model: Path, site: str = "site") -> list[str]:
    return [sys.executable, "-m", "lmreport.cli", "build", str(root / "lessons"), "-o", str(root / site),
            "--model", str(model), "--cache-dir", str(root / "cache"), "--no-progress"]


def assert_cache_readable(cache: Path) -> None:
    for entry in cache.rglob("*.json"):
        if entry.name.startswith(".tmp-"):
            continue
        data = json.loads(entry.read_text())  # a torn write would fail here
        assert data["key"] == entry.stem


def assert_complete(site: Path) -> None:
    assert (site / MARKER).exists() and (site / "index.html").exists()
    for page in site.glob("*.html"):
        assert page.read_text().rstrip().endswith("</html>")


def test_sigkill_at_any_moment_leaves_the_old_site(tmp_path, tiny_models):
    for n in range(3):
        write_lesson(tmp_path / "lessons", f"0{n}-a.md", LESSON.format(n=f"v0 {n}"))
    build(BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site", model=str(tiny_models["gpt2"]),
                       cache_dir=tmp_path / "cache", progress=False))
    before = snapshot(tmp_path / "site")
    started = time.perf_counter()
    subprocess.run(build_command(tmp_path, tiny_models["gpt2"], "timing-site"), check=True, capture_output=True)
    full = time.perf_counter() - started
    kills = 0
    for i, fraction in enumerate([0.2, 0.4, 0.55, 0.7, 0.8, 0.9, 0.95, 1.0]):
        for n in range(3):
            write_lesson(tmp_path / "lessons", f"0{n}-a.md", LESSON.format(n=f"v{i + 1} {n}"))
        proc = subprocess.Popen(build_command(tmp_path, tiny_models["gpt2"]), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(full * fraction)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        after = snapshot(tmp_path / "site") if (tmp_path / "site").exists() else {}
        if proc.returncode == 0:  # it finished first: the new site is complete
            assert_complete(tmp_path / "site")
            before = after
        elif after != before:
            # Killed between the two renames: the next build puts the old site back first.
            subprocess.run(build_command(tmp_path, tiny_models["gpt2"]), capture_output=True)
            assert_complete(tmp_path / "site")
            before = snapshot(tmp_path / "site")
        assert_cache_readable(tmp_path / "cache")
    assert kills >= 3
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".site.")]
    subprocess.run(build_command(tmp_path, tiny_models["gpt2"]), check=True, capture_output=True)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site.")] == [], leftovers


def test_two_builds_at_once_share_a_cache(tmp_path, tiny_models):
    for n in range(3):
        write_lesson(tmp_path / "lessons", f"0{n}-a.md", LESSON.format(n=n))
    procs = [subprocess.Popen(build_command(tmp_path, tiny_models["llama"], site), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for site in ("site-a", "site-b", "site-a")]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    assert_cache_readable(tmp_path / "cache")
    assert_complete(tmp_path / "site-a")
    assert snapshot(tmp_path / "site-a").keys() == snapshot(tmp_path / "site-b").keys()
    again = subprocess.run(build_command(tmp_path, tiny_models["llama"], "site-c"), capture_output=True, text=True)
    assert "12 from cache" in again.stdout and "0 model loads" in again.stdout


def test_full_disk_mid_write_is_a_clear_error_and_keeps_the_site(tmp_path, tiny_models, monkeypatch, capsys):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON.format(n=1))
    args = ["build", str(tmp_path / "lessons"), "-o", str(tmp_path / "site"), "--model", str(tiny_models["gpt2"]),
            "--cache-dir", str(tmp_path / "cache")]
    assert cli.main(args) == 0
    before = snapshot(tmp_path / "site")
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON.format(n=2))
    real_write = Path.write_text
    calls = {"n": 0}

    def failing_write(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real_write(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", failing_write)
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert "cannot write the site into" in err and "No space left on device" in err and "Traceback" not in err
    assert snapshot(tmp_path / "site") == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site.")] == []


def test_output_that_cannot_be_written(tmp_path, tiny_models, capsys):
    write_lesson(tmp_path / "lessons", "01-a.md", "# A\n")
    (tmp_path / "a-file").write_text("not a folder")
    code = cli.main(["build", str(tmp_path / "lessons"), "-o", str(tmp_path / "a-file" / "site"),
                     "--model", str(tiny_models["gpt2"])])
    assert code == 1
    err = capsys.readouterr().err
    assert f"'{tmp_path / 'a-file'}' is a file, not a folder" in err
    code = cli.main(["build", str(tmp_path / "lessons"), "-o", str(tmp_path / "a-file"),
                     "--model", str(tiny_models["gpt2"])])
    assert code == 1 and "exists and is not a folder" in capsys.readouterr().err


def test_unreadable_cache_folder_is_a_warning_not_a_failure(tmp_path, tiny_models, caplog):
    write_lesson(tmp_path / "lessons", "01-a.md", LESSON.format(n=1))
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    summary = build(BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site",
                                 model=str(tiny_models["gpt2"]), cache_dir=tmp_path / "cache", progress=False))
    assert summary.computed == 4
    assert any("could not write cache entry" in r.message for r in caplog.records)
