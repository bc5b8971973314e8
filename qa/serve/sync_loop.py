"""The scheduled sync: with `QA_SYNC_INTERVAL_MINUTES`, `qa serve` fetches again what changed
in the saved web sources (`qa add URL`) on a thread of its own, publishes it with the served
encoder and serves the new version at once. Private addresses only if
`QA_SYNC_ALLOW_PRIVATE`; articles of gone pages are kept (`qa sync --prune` removes them).

One log line per run: its summary, or why it failed (the next run tries again). Stopping
interrupts a run between two pages, with nothing published."""

from __future__ import annotations

import logging
import threading
from typing import Any

from qa.content.web import WebClient
from qa.indexing.web_sources import sync_sources
from qa.serve.reload import served
from qa.settings import Settings

log = logging.getLogger("qa.serve.sync")

SECONDS_PER_MINUTE = 60.0


class ScheduledSync:
    """Syncs every `interval_s` seconds, the first run one interval after `start`."""

    def __init__(self, state: Any, settings: Settings, interval_s: float) -> None:
        self.state = state  # the application's state: its searcher's encoder, its reloader
        self.settings = settings
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="qa-sync", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Ends the loop; waits `timeout` seconds at most for a run to stop."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.run_once()

    def run_once(self) -> None:
        settings = self.settings
        try:
            with WebClient.from_settings(
                settings, allow_private=settings.sync_allow_private
            ) as client:
                report = sync_sources(
                    settings,
                    lambda: served(self.state).encoder,
                    None,
                    client,
                    wait=settings.index_lock_wait,
                    stop=self._stop,
                )
        except Exception as error:  # one line, whatever it is: the next run tries again
            log.error(
                "scheduled sync failed (%s: %s); next try in %g min",
                type(error).__name__,
                error,
                self.interval_s / SECONDS_PER_MINUTE,
            )
            return
        if report.stopped:
            log.info("scheduled sync stopped: the service is stopping, nothing published")
            return
        log.info("scheduled sync: %s", report.summary())
        if report.index is not None:
            self.state.reloader.check()  # serve it now, not at the next poll
