"""Web pages as newsrooms publish them, fetched and discovered; not extracted (`qa.content.extract`
reads the bytes) and not stored (the corpus is written on top of this package's outcomes).

`client`: a polite HTTP client (robots.txt, a pace per host, User-Agent with a contact,
timeouts, a size limit, 5 redirects, http(s) only, gzip, conditional GET; `addresses`: private
addresses refused where connections open, unless allowed; `manners`: robots.txt and the pace).
`kinds`: what a response is (feed, sitemap, sitemap index, news sitemap, page, PDF, Markdown,
text) by content then declared type, and its charset. `sitemaps`, `feeds`: what they list.
`state`: the sync state file in the corpus folder. `collect`: one sync, as a stream of
`outcomes`, over `parallel` hosts. Only this package (and bench/) imports httpx, feedparser and
protego. May import `qa.content.extract`, `qa.settings` and `qa.errors`."""

from qa.content.web.client import Refusal, Response, Validators, WebClient
from qa.content.web.collect import collect
from qa.content.web.kinds import charset_of, sniff
from qa.content.web.outcomes import (
    Gone,
    Kind,
    Listed,
    ListingKind,
    ListingRead,
    Outcome,
    Page,
    Skipped,
    SkipReason,
    Unchanged,
)
from qa.content.web.state import STATE_FILE, PageRecord, SyncState

__all__ = [
    "STATE_FILE",
    "Gone",
    "Kind",
    "Listed",
    "ListingKind",
    "ListingRead",
    "Outcome",
    "Page",
    "PageRecord",
    "Refusal",
    "Response",
    "SkipReason",
    "Skipped",
    "SyncState",
    "Unchanged",
    "Validators",
    "WebClient",
    "charset_of",
    "collect",
    "sniff",
]
