"""Build, serve the site on localhost, and rebuild when a lesson changes."""

from __future__ import annotations

import functools
import http.server
import logging
import threading
import time
from pathlib import Path

from .build import BuildOptions, build
from .errors import LmreportError

log = logging.getLogger("lmreport")


def _snapshot(folder: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def _rebuild(options: BuildOptions) -> None:
    try:
        print(build(options).line(), flush=True)
    except LmreportError as e:
        print(f"{e}\n(still serving the last good build)", flush=True)


def serve(options: BuildOptions, host: str = "127.0.0.1", port: int = 8000, poll_seconds: float = 1.0) -> None:
    """Serve options.site_dir; rebuild on every change under options.lessons_dir until interrupted."""
    _rebuild(options)
    options.site_dir.mkdir(parents=True, exist_ok=True)
    # The handler resolves the folder per request, so it follows the swapped-in site after a rebuild.
    handler = functools.partial(_SiteHandler, site=options.site_dir.resolve())
    server = http.server.ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"serving {options.site_dir}/ at http://{host}:{server.server_port}/ (Ctrl-C to stop)", flush=True)
    seen = _snapshot(options.lessons_dir)
    try:
        while True:
            time.sleep(poll_seconds)
            now = _snapshot(options.lessons_dir)
            if now != seen:
                seen = now
                _rebuild(options)
    finally:
        server.shutdown()


class _SiteHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, site: Path, **kwargs):
        self._site = site
        super().__init__(*args, directory=str(site), **kwargs)

    def translate_path(self, path: str) -> str:
        self.directory = str(self._site)
        return super().translate_path(path)

    def log_message(self, format: str, *args) -> None:
        log.debug(format, *args)
