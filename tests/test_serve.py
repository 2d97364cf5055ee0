"""lmreport serve: localhost only by default, serves the site, rebuilds on change, keeps the last good build."""

import threading
import time
import urllib.request

from lmreport import cli
from lmreport.build import BuildOptions
from lmreport.serve import rebuild, start_server, watch

from .conftest import write_lesson


def test_serve_binds_to_localhost_by_default():
    args = cli.parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)


def test_serves_and_rebuilds_on_change(tmp_path, tiny_models):
    write_lesson(tmp_path / "lessons", "01-a.md", "# First version\n")
    options = BuildOptions(lessons_dir=tmp_path / "lessons", site_dir=tmp_path / "site", model=str(tiny_models["gpt2"]),
                           cache_dir=tmp_path / "cache", progress=False)
    assert rebuild(options)
    server = start_server(options.site_dir, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_port}/01-a.html"
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(options, stop, 0.05))
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
