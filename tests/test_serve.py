"""lmreport serve: localhost only by default, serves the site, rebuilds on change, keeps the last good build."""

import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from lmreport import cli
from lmreport.build import BuildOptions, build
from lmreport.errors import LmreportError
from lmreport.serve import BuildState, rebuild, serve, snapshot, start_server, watch

from .conftest import write_lesson


def test_serve_binds_to_localhost_by_default():
    args = cli.parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)


def test_serves_and_rebuilds_on_change(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", "# First version\n")
    options = BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site", model=str(tiny_models["gpt2"]),
                           cache_dir=tmp_path / "cache", progress=False)
    seen = snapshot(options)  # as serve() does: before the build, so that no edit is missed
    assert rebuild(options)
    server = start_server(options.site_dir, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_port}/01-a.html"
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(options, stop, 0.05, seen))
    watcher.start()
    try:
        assert "First version" in urllib.request.urlopen(url, timeout=5).read().decode()
        write_lesson(tmp_path / "lessons", "01-a.md", "# Second version\n")
        assert _eventually(lambda: "Second version" in urllib.request.urlopen(url, timeout=5).read().decode())
        write_lesson(tmp_path / "lessons", "01-a.md", "```lmreport\nanalysis: nope\n```\n")
        time.sleep(0.5)
        assert "Second version" in urllib.request.urlopen(url, timeout=5).read().decode()
    finally:
        stop.set()
        watcher.join()
        server.shutdown()


def _eventually(check, seconds=10.0):
    end = time.time() + seconds
    while time.time() < end:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_an_edit_saved_during_a_build_is_not_missed(tmp_path, tiny_models, monkeypatch):
    """The files are read before the build starts: an edit saved while it runs triggers the next build."""
    write_lesson(tmp_path / "lessons", "01-a.md", "# First\n")
    options = BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site", model=str(tiny_models["gpt2"]),
                           cache_dir=tmp_path / "cache", progress=False)
    seen = snapshot(options)
    time.sleep(0.01)
    write_lesson(tmp_path / "lessons", "01-a.md", "# Saved during the first build\n")  # after the snapshot
    assert rebuild(options)
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(options, stop, 0.05, seen))
    watcher.start()
    try:
        assert _eventually(lambda: "Saved during" in (tmp_path / "site" / "01-a.html").read_text())
    finally:
        stop.set()
        watcher.join()


def test_port_in_use_is_one_line_before_any_build(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", "# A\n")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        options = BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site",
                               model=str(tiny_models["gpt2"]), cache_dir=tmp_path / "cache", progress=False)
        with pytest.raises(LmreportError, match=f"port {taken.getsockname()[1]} on 127.0.0.1 is in use"):
            serve(options, "127.0.0.1", taken.getsockname()[1])
        assert not (tmp_path / "site").exists()  # no build was started
    finally:
        taken.close()


def test_live_pages_get_the_reload_script_and_the_status_of_the_last_build(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", "# A\n")
    options = BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site", model=str(tiny_models["gpt2"]),
                           cache_dir=tmp_path / "cache", progress=False)
    state = BuildState()
    server = start_server(options.site_dir, "127.0.0.1", 0, state)
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with pytest.raises(urllib.error.HTTPError) as waiting:  # no site yet: 503, and a page that reloads
            urllib.request.urlopen(f"{base}/01-a.html", timeout=5)
        assert waiting.value.code == 503 and b"/__lmreport__/reload.js" in waiting.value.read()
        assert rebuild(options, state)
        page = urllib.request.urlopen(f"{base}/01-a.html", timeout=5).read().decode()
        assert page.endswith('<script src="/__lmreport__/reload.js"></script></body>\n</html>\n')
        assert "location.reload()" in urllib.request.urlopen(f"{base}/__lmreport__/reload.js").read().decode()
        assert json.loads(urllib.request.urlopen(f"{base}/__lmreport__/status").read()) == {"generation": 1,
                                                                                              "errors": []}
        write_lesson(tmp_path / "lessons", "01-a.md", "```lmreport\nanalysis: nope\n```\n")
        assert not rebuild(options, state)
        status = json.loads(urllib.request.urlopen(f"{base}/__lmreport__/status").read())
        assert status["generation"] == 2 and "01-a.md:2: unknown analysis 'nope'" in status["errors"][0]
    finally:
        server.shutdown()
    # The built site itself never has the script.
    assert "__lmreport__" not in (tmp_path / "site" / "01-a.html").read_text()


def test_model_stays_loaded_between_rebuilds(tmp_path, tiny_models):
    """As in serve: after an edit to one block, the rebuild loads no model and runs one forward pass."""
    lesson = "# A\n\n```lmreport\nanalysis: topk\nprompt: The key is\n```\n\n```lmreport\nanalysis: logit_lens\n" \
             "prompt: {}\n```\n"
    write_lesson(tmp_path / "lessons", "01-a.md", lesson.format("The capital of"))
    options = BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site", model=str(tiny_models["gpt2"]),
                           cache_dir=tmp_path / "cache", progress=False)
    build(options)
    write_lesson(tmp_path / "lessons", "01-a.md", lesson.format("Alice gave"))
    summary = build(options)
    assert (summary.model_loads, summary.forward_passes, summary.computed, summary.cached) == (0, 1, 1, 1)
