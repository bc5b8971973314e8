"""Hot reload: the service notices a newly published index version and serves it, no restart.

The served `Searcher` is one reference on the application state. A request takes it once and
keeps it to the end, so requests in flight finish on the version they started with while new
ones get the new version. A version that fails its checks is never swapped in: the old one
stays served and the refusal is logged once.

The embedded store's versions are folders, found by polling `index_dir`. PostgreSQL announces
each version as it commits (NOTIFY): a listener thread reloads at once, reconnecting whenever its
connection drops, and polling stays as the fallback. Every search reads the database, so a
reload there re-checks the model, format and schema and starts a fresh store object (its passage
cache empty); the question cache is kept: it holds question vectors, which depend on the model
only, and a store of another model is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from qa.errors import IndexUnavailableError
from qa.search.retrieval.search import Searcher
from qa.search.store import current_version, load_version
from qa.search.store.choice import (
    announces_versions,
    listen_for_versions,
    loads_versions,
    open_store,
)
from qa.serve import heap
from qa.settings import Settings

log = logging.getLogger("qa.serve.reload")

# Seconds a LISTEN connection waits for a publication before it is made again: how long a
# stopping service waits for its listener, and how often an idle one reconnects.
LISTEN_WINDOW_S = 2.0
# Seconds between two attempts to reach a database that refused the listener.
RECONNECT_S = 1.0


def served(state: Any) -> Searcher:
    """The searcher a request should use: the one served when it arrives."""
    searcher: Searcher | None = getattr(state, "searcher", None)
    if searcher is None:
        raise IndexUnavailableError("the service is still loading its model and index")
    return searcher


class IndexReloader:
    """Keeps `state.searcher` on the published version of `settings.index_dir`."""

    def __init__(self, state: Any, settings: Settings) -> None:
        self.state = state  # the application's state: `state.searcher` is what routes use
        self.settings = settings
        self._swapping = threading.Lock()
        self._refused: str | None = None
        self._task: asyncio.Task[None] | None = None
        # A database store's: the version last opened, and the thread listening for the next.
        self._loaded: str | None = None
        self._listener: threading.Thread | None = None
        self._stopping = threading.Event()

    def check(self) -> None:
        """Serve the published version if it is not the one served and passes its checks."""
        if announces_versions(self.settings):
            self._check_database()
            return
        if not loads_versions(self.settings):  # every search reads Qdrant: nothing to swap
            return
        with self._swapping:
            served: Searcher = self.state.searcher
            try:
                folder = current_version(self.settings.index_dir)
            except IndexUnavailableError as error:
                self._refuse(str(error), str(error), served.index.manifest.version)
                return
            if folder.name in (served.index.manifest.version, self._refused):
                return
            try:
                index = load_version(folder, self.settings.model)
            except IndexUnavailableError as error:
                self._refuse(folder.name, str(error), served.index.manifest.version)
                return
            index.home, index.keep = self.settings.index_dir, self.settings.keep_versions
            self.state.searcher = Searcher(index, served.encoder, self.settings)
            self._refused = None
            heap.refreeze()
            log.info(
                "now serving index version %s (%d passages), was %s",
                folder.name,
                index.count(),
                served.index.manifest.version,
            )

    def _check_database(self) -> None:
        """The database's published version, opened afresh and served if it is another one."""
        with self._swapping:
            served: Searcher = self.state.searcher
            try:
                index = open_store(self.settings)
                version = index.manifest.version
            except IndexUnavailableError as error:
                self._refuse("the published version", str(error), self._loaded)
                return
            self._refused = None  # reachable and valid again: the next refusal is logged
            if version == self._loaded:
                return
            self.state.searcher = Searcher(index, served.encoder, self.settings)
            log.info("now serving index version %s, was %s", version, self._loaded)
            self._loaded = version

    def start(self) -> None:
        """Poll every `reload_interval` seconds (0: never) and, if the store announces its
        versions, listen for them on a thread of its own."""
        if self.settings.reload_interval > 0:
            self._task = asyncio.create_task(self._poll())
        if announces_versions(self.settings):
            self._loaded = self.state.searcher.index.manifest.version
            self._listener = threading.Thread(target=self._listen, name="qa-versions", daemon=True)
            self._listener.start()

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener is not None:
            await asyncio.to_thread(self._listener.join, LISTEN_WINDOW_S + RECONNECT_S)

    def _listen(self) -> None:
        """Reload on each announced version until stopped; a dropped or refused connection is
        made again (logged once per outage), and what was published meanwhile is caught by the
        check that follows each new LISTEN."""
        failing: str | None = None
        while not self._stopping.is_set():
            try:
                announced = listen_for_versions(self.settings, LISTEN_WINDOW_S)
                if failing is not None:
                    log.info("listening for new index versions again")
                    failing = None
                self.check()
                for version in announced:
                    log.debug("index version %s announced", version)
                    self.check()
                    if self._stopping.is_set():
                        break
            except Exception as error:  # the listener must outlive any outage: polling covers it
                if str(error) != failing:
                    log.warning("not listening for new index versions (%s): retrying", error)
                failing = str(error)
                self._stopping.wait(RECONNECT_S)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.settings.reload_interval)
            try:
                await asyncio.to_thread(self.check)
            except Exception:  # a poll must never die: the next one may succeed
                log.exception("checking for a new index version failed")

    def _refuse(self, what: str, why: str, served: str | None) -> None:
        if what != self._refused:
            log.error("not serving %s: %s; still serving version %s", what, why, served)
        self._refused = what
