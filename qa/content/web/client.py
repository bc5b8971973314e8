"""A polite HTTP client: robots.txt obeyed, a pace per host, a User-Agent naming the service
and its contact, timeouts, a size limit read as the body streams, at most 5 redirects, http and
https only at every hop, gzip and deflate, conditional GET, private addresses refused unless
allowed. A fetch never raises for what a URL does: it gives a `Response` or a `Refusal`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.message import Message
from types import TracebackType
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpcore
import httpx

from qa.content.extract import media_type_of
from qa.content.web.addresses import GuardedBackend, PrivateAddressError
from qa.content.web.manners import HostPacer, Robots, RobotsAnswer, host_of
from qa.content.web.outcomes import SkipReason
from qa.settings import Settings

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Google reads the first 500 KiB of a robots.txt; a larger one is not a robots.txt we need.
ROBOTS_MAX_BYTES = 500 * 1024
# A whole response gets this many times the read timeout: a server that sends a byte just
# before each read timeout would otherwise hold a fetch for ever.
WHOLE_RESPONSE_TIMEOUTS = 3
ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
    "application/xml;q=0.9,text/xml;q=0.9,application/pdf,text/markdown,text/plain;q=0.8,"
    "*/*;q=0.5"
)


@dataclass(frozen=True)
class Validators:
    """What a conditional GET sends back: the ETag and Last-Modified of the last response."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True)
class Response:
    """A 2xx answer with its whole body, or a 304 (`not_modified`, no body)."""

    url: str
    final_url: str
    status: int
    content_type: str
    body: bytes
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def media_type(self) -> str:
        return media_type_of(self.content_type)

    @property
    def declared_charset(self) -> str | None:
        header = Message()
        header["Content-Type"] = self.content_type
        charset = header.get_param("charset")
        if not isinstance(charset, str):  # absent, or an RFC 2231 tuple no server sends
            return None
        return charset.strip().strip("'\"") or None


@dataclass(frozen=True)
class Refusal:
    """A URL that gave no body: why (`reason`), in words (`detail`), its HTTP status if any."""

    url: str
    reason: SkipReason
    detail: str
    status: int | None = None

    @property
    def gone(self) -> bool:
        return self.status in (404, 410)


class WebClient:
    """Fetches URLs politely; thread-safe, one connection pool. Use as a context manager."""

    def __init__(
        self,
        *,
        user_agent: str,
        contact: str | None = None,
        rate_per_host: float = 1.0,
        hosts_in_parallel: int = 4,
        timeout_s: float = 15.0,
        max_bytes: int = 20 * 1024 * 1024,
        allow_private: bool,
    ) -> None:
        self.user_agent = f"{user_agent} (+{contact})" if contact else user_agent
        self.hosts_in_parallel = hosts_in_parallel
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self._pacer = HostPacer(1.0 / rate_per_host)
        self._robots = Robots(self.user_agent, self._fetch_robots)
        self._http = httpx.Client(
            transport=_guarded_transport(allow_private, hosts_in_parallel),
            timeout=httpx.Timeout(timeout_s),
            headers={
                "User-Agent": self.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": "gzip, deflate",
            },
            follow_redirects=False,
            trust_env=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, allow_private: bool) -> WebClient:
        """`allow_private`: True for what a user names (`qa add`), else
        `settings.sync_allow_private` for what the service fetches by itself."""
        return cls(
            user_agent=settings.fetch_user_agent,
            contact=settings.fetch_contact,
            rate_per_host=settings.fetch_rate_per_host,
            hosts_in_parallel=settings.fetch_hosts_in_parallel,
            timeout_s=settings.fetch_timeout_s,
            max_bytes=settings.fetch_max_bytes,
            allow_private=allow_private,
        )

    def fetch(self, url: str, validators: Validators | None = None) -> Response | Refusal:
        """GET `url`, following redirects; each hop must be http(s), allowed by its host's
        robots.txt, and waits for its host's pace."""
        return self._get(url, (validators or Validators()).headers(), self.max_bytes, True)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WebClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType
    ) -> None:
        self.close()

    def _get(
        self, url: str, headers: dict[str, str], limit: int, obey_robots: bool
    ) -> Response | Refusal:
        hop = url
        for _ in range(MAX_REDIRECTS + 1):
            if not _is_http(hop):
                return Refusal(url, SkipReason.NOT_HTTP, f"not an http(s) URL: {hop[:200]}")
            if obey_robots and (refused := self._robots.refusal(hop)):
                return Refusal(url, *refused)
            delay = self._robots.crawl_delay(hop) if obey_robots else 0.0
            self._pacer.wait(host_of(hop), at_least=delay)
            answer = self._request(url, hop, headers, limit)
            if not isinstance(answer, str):
                return answer
            hop = answer
        return Refusal(url, SkipReason.TOO_MANY_REDIRECTS, f"more than {MAX_REDIRECTS} redirects")

    def _request(
        self, url: str, hop: str, headers: dict[str, str], limit: int
    ) -> Response | Refusal | str:
        """One request: its response, a refusal, or the next hop of a redirect."""
        try:
            with self._http.stream("GET", hop, headers=headers) as answer:
                status = answer.status_code
                if status in REDIRECTS and "location" in answer.headers:
                    return _without_fragment(urljoin(hop, answer.headers["location"]))
                if status != 304 and not 200 <= status < 300:
                    return Refusal(url, SkipReason.HTTP_STATUS, f"HTTP {status}", status)
                body = self._read(url, answer, limit) if status != 304 else b""
                if isinstance(body, Refusal):
                    return body
                return Response(
                    url=url,
                    final_url=hop,
                    status=status,
                    content_type=answer.headers.get("content-type", ""),
                    body=body,
                    etag=answer.headers.get("etag"),
                    last_modified=answer.headers.get("last-modified"),
                )
        except PrivateAddressError as error:
            return Refusal(url, SkipReason.PRIVATE_ADDRESS, str(error))
        except httpx.TimeoutException as error:
            return Refusal(url, SkipReason.TIMEOUT, f"{type(error).__name__} on {hop[:200]}")
        except httpx.DecodingError as error:
            return Refusal(url, SkipReason.BAD_RESPONSE, f"undecodable body: {error}")
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            return Refusal(url, SkipReason.NETWORK, f"{type(error).__name__}: {error}"[:300])

    def _read(self, url: str, answer: httpx.Response, limit: int) -> bytes | Refusal:
        """The decoded body, read until `limit` bytes or the whole-response time."""
        declared = answer.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return Refusal(url, SkipReason.TOO_LARGE, f"{declared} bytes, over {limit}")
        allowed = WHOLE_RESPONSE_TIMEOUTS * self.timeout_s
        deadline = time.monotonic() + allowed
        chunks, size = [], 0
        for chunk in answer.iter_bytes():
            size += len(chunk)
            if size > limit:
                return Refusal(url, SkipReason.TOO_LARGE, f"over {limit} bytes")
            if time.monotonic() > deadline:
                return Refusal(url, SkipReason.TIMEOUT, f"not read whole in {allowed:g} s")
            chunks.append(chunk)
        return b"".join(chunks)

    def _fetch_robots(self, origin: str) -> RobotsAnswer:
        answer = self._get(f"{origin}/robots.txt", {}, ROBOTS_MAX_BYTES, False)
        if isinstance(answer, Response):
            return RobotsAnswer(text=answer.body.decode("utf-8", errors="replace"))
        if answer.reason is SkipReason.HTTP_STATUS and answer.status and answer.status < 500:
            return RobotsAnswer()  # no robots.txt: anything goes
        if answer.reason in (SkipReason.PRIVATE_ADDRESS, SkipReason.NOT_HTTP):
            return RobotsAnswer(blocked=(answer.reason, answer.detail))
        return RobotsAnswer(
            blocked=(SkipReason.ROBOTS, f"{origin}/robots.txt unavailable ({answer.detail})")
        )


def _is_http(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _without_fragment(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=""))


def _guarded_transport(allow_private: bool, hosts: int) -> httpx.HTTPTransport:
    """httpx's transport, its connections opened by `GuardedBackend`. httpx has no parameter
    for httpcore's network backend, so the pool it made is replaced by one that has it."""
    ssl_context = httpx.create_ssl_context(trust_env=False)  # loading the CAs takes ~30 ms
    transport = httpx.HTTPTransport(verify=ssl_context, trust_env=False)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=4 * hosts,
        max_keepalive_connections=2 * hosts,
        keepalive_expiry=5.0,
        network_backend=GuardedBackend(allow_private=allow_private),
    )
    return transport
