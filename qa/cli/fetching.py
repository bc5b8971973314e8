"""`qa add URL...` and `qa sync`: a sync of web sources run with progress on a terminal (quiet
in a pipe or a log), one line per page skipped, then one summary."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qa.cli.arguments import console, error_console
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.content.web import Outcome
    from qa.search.encoders import Encoder


def sync_and_report(
    settings: Settings,
    encoder: Callable[[], Encoder],
    urls: Sequence[str] | None,
    *,
    files: Sequence[Path] = (),
    prune: bool = False,
    wait: float = 0.0,
) -> None:
    """Fetch `urls` (the user's own: loopback allowed) with the article `files`, or the saved
    sources when None (private addresses as `QA_SYNC_ALLOW_PRIVATE` says), and publish what
    changed; the model is loaded only if something changed."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from qa.content.web import ListingRead, WebClient
    from qa.indexing.web_sources import sync_sources

    terminal = error_console.is_terminal
    shown = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=error_console,
        transient=True,
        disable=not terminal,
    )
    task = shown.add_task("fetching", total=None)
    seen = {"pages": 0, "listings": 0}

    def advance(outcome: Outcome) -> None:
        seen["listings" if isinstance(outcome, ListingRead) else "pages"] += 1
        shown.update(
            task,
            description=f"{seen['listings']} feeds and sitemaps, {seen['pages']} pages: "
            f"{outcome.url[:100]}",
        )

    allow_private = urls is not None or settings.sync_allow_private
    with WebClient.from_settings(settings, allow_private=allow_private) as client, shown:
        report = sync_sources(
            settings,
            encoder,
            urls,
            client,
            prune=prune,
            files=files,
            wait=wait,
            progress=terminal,
            on_outcome=advance,
        )
    for skip in report.skipped:
        error_console.print(f"qa: skipped {skip.url}: {skip.reason} ({skip.detail})", markup=False)
    for name, reason in (report.index.skipped if report.index else {}).items():
        error_console.print(f"qa: skipped {name}: {reason}", markup=False)
    console.print(report.summary(), markup=False)
