"""Build, serve the site on localhost, and rebuild when a lesson changes."""

from __future__ import annotations

import functools
import http.server
import logging
import threading
from pathlib import Path

from .build import BuildOptions, build
from .errors import LmreportError

log = logging.getLogger("lmreport")


def snapshot(folder: Path) -> dict[str, int]:
    """Modification times of every file under folder, to notice edits."""
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def rebuild(options: BuildOptions) -> bool:
    """Build once; on failure print the errors and keep serving the last good site."""
    try:
        print(build(options).line(), flush=True)
        return True
    except LmreportError as e:
        print(f"{e}\n(still serving the last good build)", flush=True)
        return False


def start_server(site_dir: Path, host: str, port: int) -> http.server.ThreadingHTTPServer:
    """Serve site_dir in a background thread. Paths are resolved per request, so a swapped-in
    rebuild is served at once."""
    handler = functools.partial(_QuietHandler, directory=str(Path(site_dir).resolve()))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def watch(options: BuildOptions, stop: threading.Event, poll_seconds: float = 1.0) -> None:
    """Rebuild whenever a file under the lessons folder changes, until stop is set."""
    seen = snapshot(options.lessons_dir)
    while not stop.wait(poll_seconds):
        now = snapshot(options.lessons_dir)
        if now != seen:
            seen = now
            rebuild(options)


def serve(options: BuildOptions, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Build, serve options.site_dir on host:port, and rebuild on change until interrupted."""
    rebuild(options)
    options.site_dir.mkdir(parents=True, exist_ok=True)
    server = start_server(options.site_dir, host, port)
    print(f"serving {options.site_dir}/ at http://{host}:{server.server_port}/ (Ctrl-C to stop)", flush=True)
    try:
        watch(options, threading.Event())
    finally:
        server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        log.debug(format, *args)
