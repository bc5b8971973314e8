"""Web sources into published articles: one sync (`qa.content.web.collect`) read outcome by outcome,
each page made an article (`web_articles`), then every change written through ONE undoable
corpus edit given to ONE `update_index` call (all or nothing, as the document API), and the
sync state saved only once that publication succeeded. Nothing to change publishes nothing.

An article is named after its canonical URL: the same URL again updates it; the same text under
another URL is a duplicate, skipped. A page that answers 404 or 410 loses its article only when
pruning. One bad page never stops the run: it is a skip, with its reason."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qa.content.corpus.articles import ExtractionCache
from qa.content.corpus.documents import CorpusEdit, add_files
from qa.content.corpus.ingest import Document, metadata_path, parse_document, read_metadata
from qa.content.extract import SUFFIXES
from qa.content.web import (
    Gone,
    Listed,
    ListingRead,
    Outcome,
    Page,
    Skipped,
    SkipReason,
    SyncState,
    Unchanged,
    WebClient,
    collect,
)
from qa.errors import CorpusError
from qa.indexing.build import EXTRACTIONS, IndexReport, update_index
from qa.indexing.web_articles import (
    ArticleSkip,
    NoArticle,
    WebArticle,
    from_feed_item,
    from_page,
)
from qa.search.encoders.base import Encoder
from qa.settings import Settings


@dataclass(frozen=True)
class Stored:
    url: str
    name: str


@dataclass(frozen=True)
class Skip:
    url: str
    reason: SkipReason | ArticleSkip
    detail: str


@dataclass
class SyncReport:
    """What one run did, by URL: articles added, updated, unchanged (not fetched, 304, or the
    same article again), removed (pruned), gone but kept, skipped with their reasons (a
    duplicate is one), and the version published (None: nothing to publish)."""

    added: list[Stored] = field(default_factory=list)
    updated: list[Stored] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[Stored] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    from_feed: list[str] = field(default_factory=list)  # stored from the feed item's text
    listings: list[ListingRead] = field(default_factory=list)
    index: IndexReport | None = None
    stopped: bool = False  # asked to stop before the end: nothing published or saved

    @property
    def duplicates(self) -> list[Skip]:
        return [skip for skip in self.skipped if skip.reason is ArticleSkip.DUPLICATE]

    def skipped_by_reason(self) -> dict[str, list[Skip]]:
        reasons: dict[str, list[Skip]] = {}
        for skip in self.skipped:
            reasons.setdefault(str(skip.reason), []).append(skip)
        return reasons

    def summary(self) -> str:
        """One line: what changed, why pages were skipped, what was published."""
        reasons = self.skipped_by_reason()
        skipped = f"{len(self.skipped)} skipped" + (
            f" ({', '.join(f'{r}: {len(s)}' for r, s in sorted(reasons.items()))})"
            if reasons
            else ""
        )
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged",
            f"{len(self.removed)} removed",
            skipped,
        ]
        if self.gone:
            parts.append(f"{len(self.gone)} gone but kept (--prune removes them)")
        if self.from_feed:
            parts.append(f"{len(self.from_feed)} from their feed item's text")
        if self.index is None:
            published = "nothing to publish"
        else:
            published = (
                f"version {self.index.version} published in {self.index.seconds:.1f} s "
                f"({self.index.passages} passages, {self.index.changes.passages_embedded} "
                "embedded)"
            )
        listings = f"feeds and sitemaps read: {len(self.listings)}"
        return f"{', '.join(parts)}; {listings}; {published}"


def sync_sources(
    settings: Settings,
    encoder: Callable[[], Encoder],
    urls: Sequence[str] | None,
    client: WebClient,
    *,
    prune: bool = False,
    files: Sequence[Path] = (),
    wait: float = 0.0,
    progress: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    stop: threading.Event | None = None,
) -> SyncReport:
    """Fetch `urls` (remembered as sources), or every saved source when None, and publish
    what changed, with the article `files` given beside them. `encoder` is asked for only
    when there is something to publish. `on_outcome` sees each outcome as it comes; `stop`,
    once set, ends the run early with nothing published or saved."""
    state = SyncState.load(settings.corpus_dir)
    if urls is None and not state.sources:
        raise CorpusError(
            f"no source saved in {settings.corpus_dir} to sync: add a page, feed or sitemap "
            "with `qa add URL` first"
        )
    run = _Run(settings, state, ExtractionCache(settings.index_dir / EXTRACTIONS), prune)
    outcomes = collect(urls, state, client)
    for outcome in outcomes:
        if stop is not None and stop.is_set():
            outcomes.close()
            run.report.stopped = True
            return run.report
        run.take(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    run.prune_gone()
    if run.writes or run.removals or files:
        run.report.index = update_index(
            settings, encoder(), wait=wait, progress=progress, edit=lambda: run.apply(files)
        )
    for page, name, sha256 in run.records:
        state.record_page(page, name=name, sha256=sha256)
    for url in run.forgotten:
        state.forget_page(url)
    state.save()
    return run.report


@dataclass
class _Run:
    """One run's plan: the outcomes taken one by one into articles to write, to remove, and
    pages to record once published."""

    settings: Settings
    state: SyncState
    cache: ExtractionCache
    prune: bool
    report: SyncReport = field(default_factory=SyncReport)
    writes: dict[str, WebArticle] = field(default_factory=dict)  # name -> article
    removals: list[str] = field(default_factory=list)
    records: list[tuple[Page, str, str]] = field(default_factory=list)  # page, name, sha256
    forgotten: list[str] = field(default_factory=list)
    by_text: dict[str, str] = field(default_factory=dict)  # text's sha256 -> article name
    by_name: dict[str, str] = field(default_factory=dict)  # article name -> its URL this run

    def __post_init__(self) -> None:
        for record in self.state.pages.values():  # the articles earlier runs stored
            if record.name and record.sha256 and self._exists(record.name):
                self.by_text.setdefault(record.sha256, record.name)

    def take(self, outcome: Outcome) -> None:
        if isinstance(outcome, Page):
            self._take_page(outcome)
        elif isinstance(outcome, Skipped):
            if outcome.listed is not None and outcome.listed.content:
                self._take_feed_item(
                    outcome.listed, Skip(outcome.url, outcome.reason, outcome.detail)
                )
            else:
                self.report.skipped.append(Skip(outcome.url, outcome.reason, outcome.detail))
        elif isinstance(outcome, Gone):
            self.report.gone.append(outcome.url)
        elif isinstance(outcome, Unchanged):
            self.report.unchanged.append(outcome.url)
        elif isinstance(outcome, ListingRead):
            self.report.listings.append(outcome)

    def _take_page(self, page: Page) -> None:
        made = from_page(page, self.cache, self.settings.max_article_bytes)
        if isinstance(made, NoArticle):
            if page.listed is not None and page.listed.content:
                self._take_feed_item(page.listed, Skip(made.url, made.reason, made.detail))
            else:
                self.report.skipped.append(Skip(made.url, made.reason, made.detail))
            return
        self._take_article(made)

    def _take_feed_item(self, listed: Listed, failed: Skip) -> None:
        """The feed's own text of a page that gave no article; if it gives none either, the
        page's own failure is the skip."""
        made = from_feed_item(listed, self.cache, self.settings.max_article_bytes)
        if isinstance(made, NoArticle):
            self.report.skipped.append(failed)
            return
        self.report.from_feed.append(listed.url)
        self._take_article(made)

    def _take_article(self, article: WebArticle) -> None:
        sha256 = article.text_sha256
        same_text = self.by_text.get(sha256)
        if same_text is not None and same_text != article.name:
            self._duplicate(article, sha256, same_text, f"the same text as {same_text}")
            return
        if (first := self.by_name.get(article.name)) is not None:
            self._duplicate(article, sha256, article.name, f"the same canonical URL as {first}")
            return
        self.by_name[article.name] = article.url
        self.by_text[sha256] = article.name
        if article.page is not None:
            self.records.append((article.page, article.name, sha256))
        before = self._stored_document(article.name)
        if before is not None and (before.text, before.metadata) == (
            article.document.text,
            article.document.metadata,
        ):
            self.report.unchanged.append(article.url)
            return
        stem = Path(article.name).stem
        known = any(self._exists(f"{stem}{suffix}") for suffix in SUFFIXES)
        (self.report.updated if known else self.report.added).append(
            Stored(article.url, article.name)
        )
        self.writes[article.name] = article

    def _duplicate(self, article: WebArticle, sha256: str, name: str, detail: str) -> None:
        self.report.skipped.append(Skip(article.url, ArticleSkip.DUPLICATE, detail))
        if article.page is not None:  # not fetched again until it changes
            self.records.append((article.page, name, sha256))

    def prune_gone(self) -> None:
        """With `prune`, the articles of gone pages go, unless a page still served has it."""
        if not self.prune:
            return
        gone = set(self.report.gone)
        kept = {r.name for url, r in self.state.pages.items() if url not in gone and r.name}
        for url in self.report.gone:
            record = self.state.pages.get(url)
            self.forgotten.append(url)
            if record is None or not record.name or record.name in kept:
                continue
            if self._exists(record.name) and record.name not in self.removals:
                self.removals.append(record.name)
                self.report.removed.append(Stored(url, record.name))
        self.report.gone = []

    def apply(self, files: Sequence[Path]) -> CorpusEdit:
        """The plan written into the corpus folder as one edit (the `files` first), undone
        whole if any part of it fails."""
        folder = self.settings.corpus_dir
        folder.mkdir(parents=True, exist_ok=True)
        edit = add_files(self.settings, list(files)) if files else CorpusEdit(folder)
        try:
            for article in self.writes.values():
                _write(edit, article)
            for name in self.removals:
                edit.remove(name)
                edit.remove(metadata_path(Path(name)).name)
        except BaseException as error:
            edit.undo()
            if isinstance(error, OSError):
                raise CorpusError(
                    f"cannot change the corpus folder {folder}: {error.strerror or error}; "
                    "nothing was changed"
                ) from error
            raise
        return edit

    def _exists(self, name: str) -> bool:
        return (self.settings.corpus_dir / name).is_file()

    def _stored_document(self, name: str) -> Document | None:
        """The article of that name in the corpus folder as the indexer reads it; None if
        there is none, or it cannot be read."""
        path = self.settings.corpus_dir / name
        try:
            return parse_document(name, path.read_bytes(), read_metadata(path), self.cache)
        except (OSError, CorpusError):
            return None


def _write(edit: CorpusEdit, article: WebArticle) -> None:
    """The article's file and sidecar, in place of a file of another kind for the same URL."""
    stem = Path(article.name).stem
    for suffix in SUFFIXES:
        other = f"{stem}{suffix}"
        if other != article.name and os.path.lexists(edit.corpus_dir / other):
            edit.remove(other)
    edit.write(article.name, article.data)
    sidecar = metadata_path(Path(article.name)).name
    edit.write(sidecar, article.metadata.model_dump_json(exclude_defaults=True).encode())
