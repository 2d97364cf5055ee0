"""lmreport serve: localhost only by default, serves only a site it built (no listing, no hidden or outside
file), rebuilds on a change to the lessons, keeps the last good build."""

import http.client
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
from tests.conftest import build_options, write_lesson


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


def get(server, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


def test_serve_refuses_a_folder_it_did_not_build(tmp_path, tiny_models, capsys):
    docs = tmp_path / "docs"
    (docs / ".ssh").mkdir(parents=True)
    (docs / ".ssh" / "id_rsa").write_text("SECRET KEY")
    (docs / "notes.txt").write_text("private notes")
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    options = BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=docs, model=str(tiny_models["gpt2"]),
                           cache_dir=tmp_path / "cache", progress=False)
    assert not rebuild(options)
    assert "nothing to serve yet" in capsys.readouterr().out
    server = start_server(docs, "127.0.0.1", 0)
    try:
        for path in ("/", "/notes.txt", "/.ssh/id_rsa", "/.ssh/"):
            status, body = get(server, path)
            assert status == 503 and b"SECRET" not in body and b"private" not in body, path
    finally:
        server.shutdown()


def test_serve_lists_no_folder_and_serves_no_hidden_or_outside_file(tmp_path, tiny_models, caplog):
    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / "secret.txt").write_text("outside")
    build(build_options(tmp_path, tiny_models["gpt2"]))
    site = tmp_path / "site"
    (site / "assets" / ".hidden").write_text("hidden")
    server = start_server(site, "127.0.0.1", 0)
    try:
        assert get(server, "/")[0] == 200 and get(server, "/01-a.html")[0] == 200
        assert get(server, "/assets/lmreport.css")[0] == 200
        for path in ("/data/", "/assets/", "/assets/.hidden", "/.lmreport-site", "/../secret.txt",
                     "/%2e%2e/secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt", "/01-a.html%00.txt", "/%00",
                     "/assets%5c..%5c..%5csecret.txt", "/nope.html"):
            status, body = get(server, path)
            assert status == 404, path
            assert b"Index of" not in body and b"outside" not in body and b"hidden" not in body, path
    finally:
        server.shutdown()
    assert "Traceback" not in caplog.text


def test_a_build_inside_the_lessons_folder_does_not_trigger_a_rebuild(tmp_path, tiny_models):
    lessons = tmp_path / "lessons"
    write_lesson(lessons, "01-a.md", "# a\n")
    options = BuildOptions(lessons_dir=lessons, site_dir=lessons / "site", model=str(tiny_models["gpt2"]),
                           cache_dir=lessons / ".cache", progress=False)
    before = snapshot(options)
    build(options)
    build(options)
    assert snapshot(options) == before
    write_lesson(lessons, "01-a.md", "# b\n")
    assert snapshot(options) != before


def test_serve_answers_odd_requests_and_aborted_downloads_quietly(tmp_path, tiny_models, capfd):
    import socket

    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    build(build_options(tmp_path, tiny_models["gpt2"]))
    server = start_server(tmp_path / "site", "127.0.0.1", 0)
    try:
        with socket.create_connection(("127.0.0.1", server.server_port)) as s:
            s.sendall(b"GET http://[/x HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.0 404")
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", server.server_port)) as s:
                s.sendall(b"GET /assets/bokeh.min.js HTTP/1.1\r\nHost: localhost\r\n\r\n")
                s.recv(100)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        time.sleep(0.5)
        assert get(server, "/01-a.html")[0] == 200
    finally:
        server.shutdown()
    assert "Traceback" not in capfd.readouterr().err


def test_serve_refuses_folders_a_build_would_refuse(tmp_path, tiny_models):
    from lmreport.serve import serve

    write_lesson(tmp_path / "lessons", "01-a.md", "# a\n")
    (tmp_path / ".lmreport-site").write_text("stray marker")
    (tmp_path / "secret.env").write_text("API_KEY=secret")
    options = BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path, model=str(tiny_models["gpt2"]),
                           cache_dir=tmp_path / "cache", progress=False)
    with pytest.raises(LmreportError, match="would hold the lessons"):
        serve(options, port=0)


def test_serve_answers_only_its_own_names_and_shows_no_absolute_folder(tmp_path, tiny_models):
    """A page elsewhere that points its own name at 127.0.0.1 (DNS rebinding) gets 421; the status open pages
    read names the lesson, not the folders it lives in."""
    import http.client

    write_lesson(tmp_path / "lessons", "01-a.md", "```lmreport\nanalysis: nope\n```\n")
    options = BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site", model=str(tiny_models["gpt2"]),
                           cache_dir=tmp_path / "cache", progress=False)
    state = BuildState()
    server = start_server(options.site_dir, "127.0.0.1", 0, state)
    port = server.server_port

    def get(path: str, host: str) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read()

    try:
        assert not rebuild(options, state)
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", f"localhost:{port + 1}",
                     "[::1", ""):
            assert get("/__lmreport__/status", host)[0] == 421, host
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"LOCALHOST:{port}"):
            code, body = get("/__lmreport__/status", host)
            assert code == 200, host
        errors = json.loads(body)["errors"]
        assert errors and errors[0].startswith("lessons/01-a.md:2: unknown analysis 'nope'")
        assert str(tmp_path) not in body.decode()
    finally:
        server.shutdown()
