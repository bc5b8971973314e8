"""Hot reload: the service notices a newly published index version and serves it, no restart.

The served `Searcher` is one reference on the application state. A request takes it once and
keeps it to the end, so requests in flight finish on the version they started with while new
ones get the new version. A version that fails its checks is never swapped in: the old one
stays served and the refusal is logged once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from qa.errors import IndexUnavailableError
from qa.retrieval.search import Searcher
from qa.serve import heap
from qa.settings import Settings
from qa.store import current_version, load_version
from qa.store.choice import loads_versions

log = logging.getLogger("qa.serve.reload")


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

    def check(self) -> None:
        """Serve the published version if it is not the one served and passes its checks."""
        if not loads_versions(self.settings):  # every search reads Qdrant: nothing to swap
            return
        with self._swapping:
            served: Searcher = self.state.searcher
            try:
                folder = current_version(self.settings.index_dir)
            except IndexUnavailableError as error:
                self._refuse(str(error), str(error), served)
                return
            if folder.name in (served.index.manifest.version, self._refused):
                return
            try:
                index = load_version(folder, self.settings.model)
            except IndexUnavailableError as error:
                self._refuse(folder.name, str(error), served)
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

    def start(self) -> None:
        """Poll the index folder every `reload_interval` seconds (0: never)."""
        if self.settings.reload_interval > 0:
            self._task = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.settings.reload_interval)
            try:
                await asyncio.to_thread(self.check)
            except Exception:  # a poll must never die: the next one may succeed
                log.exception("checking for a new index version failed")

    def _refuse(self, what: str, why: str, served: Searcher) -> None:
        if what != self._refused:
            log.error(
                "not serving %s: %s; still serving version %s",
                what,
                why,
                served.index.manifest.version,
            )
        self._refused = what
