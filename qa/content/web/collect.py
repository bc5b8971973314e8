"""One sync: read the sources (feeds, sitemaps and their indexes, pages) with conditional GET,
then fetch the pages they list that may have changed, several hosts at once. What comes out is
a stream of outcomes; one bad URL never stops it."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from qa.content.web.client import Refusal, Response, Validators, WebClient
from qa.content.web.feeds import read_feed
from qa.content.web.kinds import charset_of, gunzipped, listing_kind, page_kind, sniff
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
from qa.content.web.parallel import per_host
from qa.content.web.sitemaps import ListingError, Sitemap, read_sitemap
from qa.content.web.state import ListingRecord, SyncState, iso

# An index lists sitemaps; an index listing indexes is allowed this deep, no deeper.
MAX_SITEMAP_DEPTH = 3
# Sitemaps read from one source, its index's children included.
MAX_SITEMAPS = 1000
BROKEN_GZIP = "a gzip file broken or over the size limit"


@dataclass
class _Run:
    """One sync's work list: the pages to consider, and the URLs already dealt with."""

    state: SyncState
    client: WebClient
    pages: dict[str, tuple[Listed, str]] = field(default_factory=dict)  # url -> (listed, source)
    done: set[str] = field(default_factory=set)
    sitemaps_read: int = 0


def collect(
    urls: Sequence[str] | None, state: SyncState, client: WebClient
) -> Generator[Outcome, None, None]:
    """Reads `urls` (new sources, each remembered in `state` once it answers), or else every
    source `state` remembers, and yields what each gave: `ListingRead` for a feed or sitemap,
    then for each page a `Page` (fetched: to store, then `state.record_page`), `Unchanged` (its
    listing's date is the one recorded, or it answered 304), `Gone` (404, 410) or `Skipped`.

    A page is fetched only if its listing gives no date or another date than the one recorded
    with its article, and then with the validators of its last response. The caller saves
    `state` when it has stored what it keeps."""
    run = _Run(state, client)
    for url in list(urls if urls is not None else state.sources):
        run.pages.pop(url, None)  # a page named is read as a source, not again as listed
        if url not in run.done:
            run.sitemaps_read = 0
            yield from _read_source(run, url, depth=0, given=True)
    waiting = [(url, listed, source) for url, (listed, source) in run.pages.items()]
    fetches = per_host(
        waiting, lambda job: job[0], lambda job: _page(run, *job), client.hosts_in_parallel
    )
    for outcome in fetches:
        if isinstance(outcome, Unchanged) and outcome.fetched:
            _note_unchanged(state, outcome.url, run.pages[outcome.url][0])
        yield outcome


def _read_source(run: _Run, url: str, *, depth: int, given: bool) -> Iterator[Outcome]:
    """A source or an index's child: a listing read (its pages added to the run, its child
    sitemaps read) or a page. A source given is remembered once it answered with either."""
    run.done.add(url)
    outcome, entries = _read(run, url, given)
    if given and isinstance(outcome, ListingRead | Page | Unchanged):
        run.state.add_source(url)
    yield outcome
    if isinstance(outcome, ListingRead):
        yield from _follow(run, url, outcome.kind, entries, depth)


def _read(run: _Run, url: str, given: bool) -> tuple[Outcome, Sequence[Listed]]:
    """What one source or child sitemap answered, and the entries it lists."""
    listing = run.state.listings.get(url)
    known_page = run.state.pages.get(url)
    record = listing or known_page
    answer = run.client.fetch(
        url, Validators(record.etag, record.last_modified) if record else None
    )
    if isinstance(answer, Refusal):  # gone only for a page: a listing has no article
        return (_refused(answer) if known_page is not None else _skipped(answer)), ()
    if answer.not_modified:
        if listing is None:
            return Unchanged(url, fetched=True), ()
        remembered = _remembered(listing.entries)
        return ListingRead(url, listing.kind, len(remembered), unchanged=True), remembered
    body = gunzipped(answer.body, run.client.max_bytes)
    if body is None:
        return Skipped(url, SkipReason.BAD_RESPONSE, BROKEN_GZIP), ()
    kind = sniff(body, answer.media_type)
    if (found := listing_kind(kind)) is None:
        return (_as_page(url, answer, body, kind, None, None) if given else _not_a_sitemap(url)), ()
    return _read_listing(run, url, answer, body, found)


def _read_listing(
    run: _Run, url: str, answer: Response, body: bytes, kind: ListingKind
) -> tuple[Outcome, Sequence[Listed]]:
    try:
        if kind == "feed":
            listed = Sitemap(pages=read_feed(body, answer.final_url))
        else:
            listed = read_sitemap(body, answer.final_url)
    except ListingError as error:
        return Skipped(url, SkipReason.BAD_LISTING, str(error)), ()
    entries = listed.children if kind == "sitemap-index" else listed.pages
    run.state.listings[url] = ListingRecord(
        kind=kind,
        etag=answer.etag,
        last_modified=answer.last_modified,
        entries={entry.url: iso(entry.changed) for entry in entries},
    )
    return ListingRead(url, kind, len(entries), unchanged=False), entries


def _follow(
    run: _Run, url: str, kind: ListingKind, entries: Sequence[Listed], depth: int
) -> Iterator[Outcome]:
    """An index's child sitemaps read now (bounded); a listing's pages put on the list."""
    if kind != "sitemap-index":
        for entry in entries:
            if entry.url in run.done:
                continue
            if (seen := run.pages.get(entry.url)) is None:
                run.pages[entry.url] = (entry, url)
            else:
                run.pages[entry.url] = (_merged(seen[0], entry), seen[1])
        return
    for child in entries:
        if child.url in run.done:
            continue
        if depth + 1 > MAX_SITEMAP_DEPTH or run.sitemaps_read >= MAX_SITEMAPS:
            limit = f"{MAX_SITEMAPS} sitemaps, nested {MAX_SITEMAP_DEPTH} deep at most"
            yield Skipped(child.url, SkipReason.LIMIT, f"listed by {url}: over {limit}")
            continue
        run.sitemaps_read += 1
        yield from _read_source(run, child.url, depth=depth + 1, given=False)


def _merged(first: Listed, other: Listed) -> Listed:
    """A page listed twice (a sitemap and a news sitemap, a sitemap and a feed): the later of
    its dates, whatever the order the listings were read in, and what either says of it."""
    dates = [date for date in (first.changed, other.changed) if date is not None]
    return replace(
        first,
        changed=max(dates) if dates else None,
        title=first.title or other.title,
        published=first.published or other.published,
        author=first.author or other.author,
        content=first.content or other.content,
        content_type=first.content_type if first.content else other.content_type,
    )


def _page(run: _Run, url: str, listed: Listed, source: str) -> Outcome:
    """One listed page: not fetched if its date is the one recorded, else fetched
    (conditionally if known). Runs on a worker thread: reads the state, never writes it."""
    record = run.state.pages.get(url)
    if record and listed.changed and record.changed == iso(listed.changed):
        return Unchanged(url, fetched=False)
    answer = run.client.fetch(
        url, Validators(record.etag, record.last_modified) if record else None
    )
    if isinstance(answer, Refusal):
        return _refused(answer, listed)
    if answer.not_modified:
        return Unchanged(url, fetched=True)
    body = gunzipped(answer.body, run.client.max_bytes)
    if body is None:
        return Skipped(url, SkipReason.BAD_RESPONSE, BROKEN_GZIP)
    return _as_page(url, answer, body, sniff(body, answer.media_type), listed, source)


def _as_page(
    url: str,
    answer: Response,
    body: bytes,
    sniffed: Kind | None,
    listed: Listed | None,
    source: str | None,
) -> Page | Skipped:
    kind = page_kind(sniffed)
    if kind is None:
        what = sniffed or answer.media_type or "no declared type"
        return Skipped(url, SkipReason.NOT_ARTICLE, f"{what} is not a page", listed=listed)
    return Page(
        url=url,
        final_url=answer.final_url,
        status=answer.status,
        kind=kind,
        media_type=answer.media_type,
        charset=charset_of(body, kind, answer.declared_charset),
        body=body,
        etag=answer.etag,
        last_modified=answer.last_modified,
        listed=listed,
        source=source,
    )


def _refused(answer: Refusal, listed: Listed | None = None) -> Gone | Skipped:
    if answer.gone and answer.status is not None:
        return Gone(answer.url, answer.status)
    return _skipped(answer, listed)


def _skipped(answer: Refusal, listed: Listed | None = None) -> Skipped:
    return Skipped(answer.url, answer.reason, answer.detail, answer.status, listed)


def _not_a_sitemap(url: str) -> Skipped:
    return Skipped(url, SkipReason.BAD_LISTING, "a sitemap index lists it, but it is no sitemap")


def _remembered(entries: dict[str, str | None]) -> list[Listed]:
    return [
        Listed(url, changed=datetime.fromisoformat(changed) if changed else None)
        for url, changed in entries.items()
    ]


def _note_unchanged(state: SyncState, url: str, listed: Listed) -> None:
    """A page that answered 304 under a new listing date: that date is now its own, so that
    the next sync does not ask again."""
    if (record := state.pages.get(url)) is not None:
        record.changed = iso(listed.changed)
