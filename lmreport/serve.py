"""Build, serve the site on localhost, and rebuild when a lesson changes.

The server shows only a site lmreport built (a folder with its marker file): never a directory listing,
never a hidden file, never a path that leaves the site.
"""

from __future__ import annotations

import errno
import http.server
import json
import logging
import mimetypes
import os
import shutil
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from lmreport.build import BuildOptions, build, check_paths, configure
from lmreport.errors import LmreportError, printable
from lmreport.site.assets import STATIC_DIR
from lmreport.site.writer import MARKER

log = logging.getLogger("lmreport")


def snapshot(options: BuildOptions) -> dict[str, int]:
    """Modification times of the files a build reads from the lessons folder, to notice edits: not the site
    or the cache (they may lie inside it, and a build writes them), nor hidden files and folders (staging
    folders, editor files)."""
    root = Path(options.lessons_dir)
    skip = {os.path.realpath(options.site_dir or "site"), os.path.realpath(options.cache_dir)}
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


@dataclass
class BuildState:
    """What open pages poll: a number that grows with each build, and the last build's errors (none when it
    was good)."""

    generation: int = 0
    errors: list[str] = field(default_factory=list)

    def status(self) -> bytes:
        return json.dumps({"generation": self.generation, "errors": self.errors}).encode()


def _without_folders(text: str, lessons_dir: Path) -> str:
    """A build's message as open pages may see it: the lessons folder's absolute path (and the working folder's,
    and the home folder's) left out, so the page learns the lesson's name, not where it lives."""
    lessons = os.path.abspath(lessons_dir)
    for folder, shown in ((lessons, os.path.basename(lessons)), (os.getcwd(), "."), (os.path.expanduser("~"), "~")):
        if len(folder) > 1:
            text = text.replace(folder.rstrip("/") + "/", shown + "/")
    return text


def rebuild(options: BuildOptions, state: BuildState | None = None) -> bool:
    """Build once; on failure print the errors and keep serving the last good site (open pages show the
    errors over it)."""
    state = state if state is not None else BuildState()
    try:
        print(printable(build(options).line()), flush=True)
        state.errors = []
        return True
    except Exception as e:  # noqa: BLE001 - a bug in one build must not stop the server
        if not isinstance(e, LmreportError):
            log.debug("unexpected error in the build", exc_info=True)
            e = LmreportError(f"the build failed unexpectedly ({type(e).__name__}: {e}); --debug shows where")
        last = "still serving the last good build" if is_site(options.site_dir) else "nothing to serve yet"
        print(f"{e}\n({last})", flush=True)
        state.errors = [_without_folders(line, options.lessons_dir) for line in str(e).splitlines()]
        return False
    finally:
        state.generation += 1


def is_site(folder: Path) -> bool:
    """Whether folder holds a site lmreport built."""
    return (Path(folder) / MARKER).is_file()


def start_server(site_dir: Path, host: str, port: int, state: BuildState | None = None
                 ) -> http.server.ThreadingHTTPServer:
    """Serve site_dir in a background thread. Paths are resolved per request, so a swapped-in rebuild is
    served at once. With a state, pages get the live-reload script and /__lmreport__/status answers."""
    handler = type("SiteHandler", (SiteHandler,), {"site_dir": os.path.abspath(site_dir), "state": state})
    try:
        server = _Server((host, port), handler)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise LmreportError(f"port {port} on {host} is in use (another lmreport serve?): "
                                f"choose another with --port") from None
        raise LmreportError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def watch(options: BuildOptions, stop: threading.Event, poll_seconds: float = 1.0,
          seen: dict[str, int] | None = None, state: BuildState | None = None) -> None:
    """Rebuild whenever a lesson file changes, until stop is set. seen: the files as the last build read them
    (taken before it started, so that an edit saved during a build is not missed)."""
    seen = snapshot(options) if seen is None else seen
    while not stop.wait(poll_seconds):
        now = snapshot(options)
        if now != seen:
            seen = now
            rebuild(options, state)


def serve(options: BuildOptions, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve options.site_dir on host:port, build, and rebuild on change until interrupted; open pages reload
    after a good rebuild and show the errors of a failed one. Folders that a build would refuse (the site
    holding the lessons, overlapping the cache...) and a port in use stop it before any build. Models stay
    loaded between rebuilds: an edited block costs its forward pass, not a model load."""
    options, _ = configure(options)  # course.yml's output folder; its problems are the build's to report
    check_paths(options)
    state = BuildState()
    server = start_server(options.site_dir, host, port, state)
    print(f"serving {printable(str(options.site_dir))}/ at http://{host}:{server.server_port}/ (Ctrl-C to stop)",
          flush=True)
    try:
        seen = snapshot(options)
        rebuild(options, state)
        watch(options, threading.Event(), seen=seen, state=state)
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
    state: BuildState | None = None  # set by `serve`: live reload
    server_version = "lmreport"
    timeout = 30  # a client that sends half a request does not hold a thread for ever

    def do_GET(self) -> None:
        self._send(body=True)

    def do_HEAD(self) -> None:
        self._send(body=False)

    def _send(self, body: bool) -> None:
        if not self._host_is_ours():
            self._error(421, "This server answers only the names it listens on (localhost, 127.0.0.1).")
            return
        if self.state is not None and self._live(body):
            return
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
                if self.state is not None and path.endswith(".html"):
                    self._reply(200, _content_type(path), _with_reload(f.read()), body)
                    return
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

    def _live(self, body: bool) -> bool:
        """The live-reload script and the build's status, at paths no site file can have."""
        assert self.state is not None
        path = self._request_path()
        if path == LIVE_STATUS:
            self._reply(200, "application/json", self.state.status(), body)
        elif path == LIVE_SCRIPT:
            self._reply(200, "text/javascript; charset=utf-8", (STATIC_DIR / "live-reload.js").read_bytes(), body)
        else:
            return False
        return True

    def _reply(self, code: int, kind: str, data: bytes, body: bool) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self._common_headers()
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _host_is_ours(self) -> bool:
        """Whether the request names this server (localhost or the address it listens on): a page of another site
        that points its own name at this address (DNS rebinding) must not read the pages or the build's status."""
        host = self.headers.get("Host")
        if host is None:  # HTTP/1.0 without a name: no browser sends that
            return True
        try:
            named = urllib.parse.urlsplit("//" + host.strip())
            name, port = named.hostname, named.port
        except ValueError:
            return False
        address, listening = self.server.server_address[:2]
        return name in {"localhost", "127.0.0.1", "::1", str(address).lower()} and port in (None, listening)

    def _request_path(self) -> str | None:
        """The path part of the request line; None when it cannot be read ('http://[/x' and the like)."""
        try:
            return urllib.parse.urlsplit(self.path).path
        except ValueError:
            return None

    def _file(self, root: str) -> str | None:
        """The file a request path names inside root, or None: no hidden parts, no NUL, nothing outside root."""
        raw = self._request_path()
        if raw is None:
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
        data = f"<!doctype html><meta charset=utf-8><title>{code}</title><body><p>{text}</p></body>\n".encode()
        if self.state is not None:  # reloads by itself once a build succeeds
            data = _with_reload(data)
        self._reply(code, "text/html; charset=utf-8", data, self.command != "HEAD")

    def _common_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")

    def log_message(self, format: str, *args: object) -> None:
        log.debug(format, *args)


LIVE_SCRIPT = "/__lmreport__/reload.js"  # no site file starts with '_': lesson names start with a letter or digit


LIVE_STATUS = "/__lmreport__/status"


def _with_reload(page: bytes) -> bytes:
    """A page with the live-reload script before its </body> (or at its end)."""
    tag = f'<script src="{LIVE_SCRIPT}"></script>'.encode()
    at = page.rfind(b"</body>")
    return page[:at] + tag + page[at:] if at >= 0 else page + tag


def _content_type(path: str) -> str:
    kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind in ("application/javascript",
                                                                          "application/json") else kind
