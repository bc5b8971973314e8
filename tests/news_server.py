"""A real HTTP server for the tests: a folder served over HTTP/1.1 on 127.0.0.1 from a thread,
with ETag and Last-Modified (304 to a conditional GET), gzip or deflate when the request asks, a
request log the tests count and time, and routes that change a path's status, body, content
type, redirect or delay, or send it in chunks of unknown total size. Plain helpers, no pytest
fixtures (tests/news_site.py builds the site it serves)."""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".pdf": "application/pdf",
}


@dataclass(frozen=True)
class Route:
    """What a path answers instead of its file (each field left None keeps the file's)."""

    status: int = 200
    body: bytes | None = None
    content_type: str | None = None
    location: str | None = None  # a redirect's target (with a 3xx status)
    delay: float = 0.0  # seconds before the answer starts
    chunked: bool = False  # no Content-Length: the body in chunks, its size unknown ahead
    # Extra headers; a body with its own Content-Encoding here is sent as it is.
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    at: float  # time.monotonic() when it arrived
    method: str
    path: str
    headers: Mapping[str, str]  # names in lower case
    status: int


class SiteServer:
    """A folder served over HTTP/1.1 on 127.0.0.1 (a free port) from a thread; use it as a
    context manager. `routes[path]` overrides a path; `requests` is the log."""

    def __init__(self, folder: Path, *, compress: bool = True) -> None:
        self.folder = folder.resolve()
        self.compress = compress
        self.routes: dict[str, Route] = {}
        self._log: list[Request] = []
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._log)

    def requested(self, path: str) -> list[Request]:
        """The requests for one path (a full URL of this server is taken too)."""
        path = path.removeprefix(self.base_url)
        return [request for request in self.requests if request.path == path]

    def clear(self) -> None:
        with self._lock:
            self._log.clear()

    def record(self, request: Request) -> None:
        with self._lock:
            self._log.append(request)

    def __enter__(self) -> SiteServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)


def _handler_for(server: SiteServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall
        timeout = 10  # an idle kept-alive connection is closed after it

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _answer(self, *, send_body: bool) -> None:
            arrived = time.monotonic()
            path = unquote(urlsplit(self.path).path)
            route = server.routes.get(path, Route())
            status, body, content_type, modified = _resolve(server.folder, path, route)
            headers = {"Content-Type": content_type, **route.headers}
            if route.location:
                headers["Location"] = route.location
            if status == 200:
                headers["ETag"] = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
                headers["Last-Modified"] = formatdate(modified, usegmt=True)
                if _not_modified(self.headers, headers["ETag"], modified):
                    status, body = 304, b""
                    del headers["Content-Type"]
            if status == 200 and server.compress and "Content-Encoding" not in headers:
                body = _encode(body, self.headers.get("Accept-Encoding", ""), headers)
            server.record(
                Request(
                    arrived,
                    self.command,
                    path,
                    {k.lower(): v for k, v in self.headers.items()},
                    status,
                )
            )
            time.sleep(route.delay)
            try:
                self._send(status, headers, body if send_body else b"", route.chunked, len(body))
            except (BrokenPipeError, ConnectionResetError):  # the client stopped reading
                self.close_connection = True

        def _send(
            self, status: int, headers: dict[str, str], body: bytes, chunked: bool, length: int
        ) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if chunked and status == 200:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for start in range(0, len(body), 65536):
                    piece = body[start : start + 65536]
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
                return
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _resolve(folder: Path, path: str, route: Route) -> tuple[int, bytes, str, float]:
    """(status, body, content type, modification time) of a path: its route, else its file."""
    file = (folder / path.lstrip("/")).resolve()
    if file.is_dir():
        file = file / "index.html"
    found = file.is_relative_to(folder) and file.is_file()
    status = route.status if found or route.body is not None or route.status != 200 else 404
    if route.body is not None:
        body, modified = route.body, 0.0
    elif found and status == 200:
        body, modified = file.read_bytes(), file.stat().st_mtime
    else:
        body, modified = f"<h1>{status}</h1>".encode(), 0.0
    default_type = CONTENT_TYPES.get(file.suffix, "application/octet-stream") if found else None
    return status, body, route.content_type or default_type or "text/html; charset=utf-8", modified


def _not_modified(request: Message, etag: str, modified: float) -> bool:
    """RFC 9110: If-None-Match decides when present, else If-Modified-Since (in seconds)."""
    if (tags := request.get("If-None-Match")) is not None:
        return tags.strip() == "*" or etag in [tag.strip() for tag in tags.split(",")]
    if since := request.get("If-Modified-Since"):
        try:
            return int(modified) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False
    return False


def _encode(body: bytes, accepted: str, headers: dict[str, str]) -> bytes:
    """gzip or deflate as the request's Accept-Encoding asks, else the body as it is."""
    codings = {token.split(";")[0].strip().lower() for token in accepted.split(",")}
    headers["Vary"] = "Accept-Encoding"
    if "gzip" in codings:
        headers["Content-Encoding"] = "gzip"
        return gzip.compress(body, mtime=0)
    if "deflate" in codings:
        headers["Content-Encoding"] = "deflate"
        return zlib.compress(body)
    return body


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SiteServer]:
    """A site server of the test's own, serving a folder of its temporary directory."""
    with SiteServer(tmp_path / "site") as server:
        yield server
