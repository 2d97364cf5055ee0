"""Build, serve the site on localhost, and rebuild when a lesson changes.

The server shows only a site lmreport built (a folder with its marker file): never a directory listing,
never a hidden file, never a path that leaves the site.
"""

from __future__ import annotations

import http.server
import logging
import mimetypes
import os
import shutil
import threading
import urllib.parse
from pathlib import Path

from .build import BuildOptions, build, check_paths
from .errors import LmreportError, printable
from .site import MARKER

log = logging.getLogger("lmreport")


def snapshot(options: BuildOptions) -> dict[str, int]:
    """Modification times of the files a build reads from the lessons folder, to notice edits: not the site
    or the cache (they may lie inside it, and a build writes them), nor hidden files and folders (staging
    folders, editor files)."""
    root = Path(options.lessons_dir)
    skip = {os.path.realpath(options.site_dir), os.path.realpath(options.cache_dir)}
    seen: dict[str, int] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and os.path.realpath(os.path.join(folder, d)) not in skip]
        for name in files:
            if not name.startswith("."):
                path = os.path.join(folder, name)
                try:
                    seen[path] = os.stat(path).st_mtime_ns
                except OSError:
                    continue
    return seen


def rebuild(options: BuildOptions) -> bool:
    """Build once; on failure print the errors and keep serving the last good site."""
    try:
        print(printable(build(options).line()), flush=True)
        return True
    except Exception as e:  # noqa: BLE001 - a bug in one build must not stop the server
        if not isinstance(e, LmreportError):
            log.debug("unexpected error in the build", exc_info=True)
            e = LmreportError(f"the build failed unexpectedly ({type(e).__name__}: {e}); --debug shows where")
        last = "still serving the last good build" if is_site(options.site_dir) else "nothing to serve yet"
        print(f"{e}\n({last})", flush=True)
        return False


def is_site(folder: Path) -> bool:
    """Whether folder holds a site lmreport built."""
    return (Path(folder) / MARKER).is_file()


def start_server(site_dir: Path, host: str, port: int) -> http.server.ThreadingHTTPServer:
    """Serve site_dir in a background thread. Paths are resolved per request, so a swapped-in rebuild is
    served at once."""
    handler = type("SiteHandler", (SiteHandler,), {"site_dir": os.path.abspath(site_dir)})
    server = _Server((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def watch(options: BuildOptions, stop: threading.Event, poll_seconds: float = 1.0) -> None:
    """Rebuild whenever a lesson file changes, until stop is set."""
    seen = snapshot(options)
    while not stop.wait(poll_seconds):
        now = snapshot(options)
        if now != seen:
            rebuild(options)
            seen = snapshot(options)


def serve(options: BuildOptions, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Build, serve options.site_dir on host:port, and rebuild on change until interrupted. Folders that a build
    would refuse (the site holding the lessons, overlapping the cache...) are refused before serving anything."""
    check_paths(options)
    rebuild(options)
    server = start_server(options.site_dir, host, port)
    print(f"serving {printable(str(options.site_dir))}/ at http://{host}:{server.server_port}/ (Ctrl-C to stop)",
          flush=True)
    try:
        watch(options, threading.Event())
    finally:
        server.shutdown()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A reader who leaves a page mid-load resets the connection: not worth a traceback.
        log.debug("request from %s ended with an error", client_address, exc_info=True)


class SiteHandler(http.server.BaseHTTPRequestHandler):
    """GET and HEAD of the files of one lmreport site; everything else is 404 (or 503 before a first build)."""

    site_dir = ""
    server_version = "lmreport"
    timeout = 30  # a client that sends half a request does not hold a thread for ever

    def do_GET(self) -> None:
        self._send(body=True)

    def do_HEAD(self) -> None:
        self._send(body=False)

    def _send(self, body: bool) -> None:
        root = os.path.realpath(self.site_dir)
        if not is_site(Path(root)):
            self._error(503, "No lmreport site has been built here yet: see the terminal for the build's errors.")
            return
        path = self._file(root)
        if path is None:
            self._error(404, "Not found.")
            return
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                self.send_response(200)
                self.send_header("Content-Type", _content_type(path))
                self.send_header("Content-Length", str(size))
                self._common_headers()
                self.end_headers()
                if body:
                    shutil.copyfileobj(f, self.wfile)
        except OSError:
            self._error(404, "Not found.")

    def _file(self, root: str) -> str | None:
        """The file a request path names inside root, or None: no hidden parts, no NUL, nothing outside root."""
        try:
            raw = urllib.parse.urlsplit(self.path).path
        except ValueError:  # 'http://[/x' and the like
            return None
        parts = [p for p in urllib.parse.unquote(raw, errors="replace").split("/") if p]
        if any(p.startswith(".") or "\x00" in p or "\\" in p for p in parts):
            return None
        candidate = os.path.join(root, *parts) if parts else root
        if os.path.isdir(candidate):
            candidate = os.path.join(candidate, "index.html")
        real = os.path.realpath(candidate)
        if os.path.commonpath([real, root]) != root or not os.path.isfile(real):
            return None
        return real

    def _error(self, code: int, text: str) -> None:
        data = f"<!doctype html><meta charset=utf-8><title>{code}</title><p>{text}</p>\n".encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self._common_headers()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _common_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")

    def log_message(self, format: str, *args: object) -> None:
        log.debug(format, *args)


def _content_type(path: str) -> str:
    kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind in ("application/javascript",
                                                                          "application/json") else kind
