"""The benchmark's records, its table and its plot (`bench.serving` measures, this module shows)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.ceiling import CeilingReport
from bench.loadgen import LoadResult
from qa.errors import QAError


@dataclass(frozen=True)
class ServingReport:
    path: str
    ready_s: float
    rss_ready_mb: float
    rss_after_load_mb: float
    peak_rss_mb: float
    # The process's own memory (RssAnon): RSS less the pages of files it maps, which count as
    # resident only while they sit in the page cache, so RSS moves with what else ran lately
    # (the libraries of a fresh install add ~80 MB until the kernel evicts them).
    private_ready_mb: float
    private_after_load_mb: float
    load: list[LoadResult]
    # Server CPU time (all threads) per completed request at each point: unlike latency, it
    # hardly depends on what else the machine runs.
    cpu_ms_per_request: list[float | None]  # None: no request completed
    # Search events the analytics wrote per second of each point (0 with analytics off).
    events_written_per_s: list[float]


@dataclass(frozen=True)
class IndexingReport:
    path: str
    corpus_mb: float
    passages: int
    sentences: int
    seconds: float
    passages_per_s: float
    mb_per_min: float


@dataclass(frozen=True)
class BenchReport:
    new_path: str
    serving: list[ServingReport]  # the new path, the old one: each question embedded
    repeated: ServingReport  # the new path, its question cache answering repeated questions
    indexing: list[IndexingReport]
    analytics_off: ServingReport  # the new path again, searches not recorded
    ceiling: CeilingReport  # the new path against the encoder alone (`bench.ceiling`)


def print_report(report: BenchReport, console: Console) -> None:
    new, old = report.serving
    table = Table(title="POST /search (k=5, hybrid), wrk; new path / old path (ratio)")
    for column in ("clients", "req/s", "p50 ms", "p90 ms", "p99 ms", "CPU ms/req", "errors"):
        table.add_column(column, justify="right")
    points = zip(new.load, old.load, new.cpu_ms_per_request, old.cpu_ms_per_request, strict=True)
    for now, before, cpu_now, cpu_before in points:
        table.add_row(
            str(now.connections),
            _pair(now.throughput, before.throughput, higher_is_better=True),
            _pair(now.p50_ms, before.p50_ms),
            _pair(now.p90_ms, before.p90_ms),
            _pair(now.p99_ms, before.p99_ms),
            _pair(cpu_now, cpu_before),
            f"{now.error_count} / {before.error_count}",
        )
    console.print(table)
    print_analytics_cost(new, report.analytics_off, console)
    repeated = report.repeated
    console.print(
        f"{repeated.path}: "
        + "; ".join(
            f"{point.connections} client{'s' * (point.connections > 1)} "
            f"{point.throughput:g} req/s, p50 {point.p50_ms:g} ms, "
            f"p99 {point.p99_ms:g} ms, CPU {cpu or 0:g} ms/req, {point.error_count} errors"
            for point, cpu in zip(repeated.load, repeated.cpu_ms_per_request, strict=True)
        ),
        markup=False,
    )
    for serving in [*report.serving, report.analytics_off, repeated]:
        console.print(
            f"{serving.path}: ready in {serving.ready_s:.2f} s · RSS {serving.rss_ready_mb:.0f} MB "
            f"at ready, {serving.rss_after_load_mb:.0f} MB after the load "
            f"(peak {serving.peak_rss_mb:.0f} MB); private memory {serving.private_ready_mb:.0f} "
            f"MB at ready, {serving.private_after_load_mb:.0f} MB after the load",
            markup=False,
        )
    new_index, old_index = report.indexing
    for indexing in report.indexing:
        console.print(
            f"indexing, {indexing.path}: {indexing.corpus_mb:.2f} MB, {indexing.passages} "
            f"passages, {indexing.sentences} sentences in {indexing.seconds:.1f} s: "
            f"{indexing.passages_per_s:.1f} passages/s, {indexing.mb_per_min:.3f} MB/min",
            markup=False,
        )
    console.print(
        # From the unrounded rates: passages/s is rounded to 0.1, coarse on a small corpus.
        "indexing speed-up: "
        f"{new_index.passages * old_index.seconds / (old_index.passages * new_index.seconds):.1f}x",
        markup=False,
    )


def print_analytics_cost(on: ServingReport, off: ServingReport, console: Console) -> None:
    """The new path with analytics on against off: what recording every search costs."""
    table = Table(title="analytics on / off (ratio: on's throughput over off's)")
    for column in ("clients", "req/s", "p50 ms", "p99 ms", "events written/s", "errors"):
        table.add_column(column, justify="right")
    for recorded, bare, written in zip(on.load, off.load, on.events_written_per_s, strict=True):
        ratio = recorded.throughput / bare.throughput if bare.throughput else math.nan
        table.add_row(
            str(recorded.connections),
            f"{recorded.throughput:g} / {bare.throughput:g} ({ratio:.3f})",
            f"{recorded.p50_ms:g} / {bare.p50_ms:g}",
            f"{recorded.p99_ms:g} / {bare.p99_ms:g}",
            f"{written:g}",
            f"{recorded.error_count} / {bare.error_count}",
        )
    console.print(table)


def _pair(now: float | None, before: float | None, *, higher_is_better: bool = False) -> str:
    if not before or not now:
        return f"{now or 0:g} / {before or 0:g}"
    ratio = now / before if higher_is_better else before / now
    return f"{now:g} / {before:g} ({ratio:.1f}x)"


def plot(report: BenchReport, out: Path) -> None:
    """Throughput and latency against concurrency, every path measured, as a PNG."""
    try:
        import matplotlib
    except ModuleNotFoundError as missing:  # the bench extra
        raise QAError(
            f"--plot needs the bench extra: pip install -e '.[bench]' ({missing.name} is not "
            "installed)"
        ) from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (throughput, latency) = plt.subplots(1, 2, figsize=(11, 4.8))
    paths = [*report.serving, report.repeated, report.analytics_off]
    colours = ("tab:blue", "tab:red", "tab:green", "tab:purple")
    for serving, colour in zip(paths, colours, strict=True):
        clients = [r.connections for r in serving.load]
        throughput.plot(
            clients, [r.throughput for r in serving.load], "o-", color=colour, label=serving.path
        )
        # A point where no request completed has no latency: a gap, not a zero.
        p50 = [r.p50_ms if r.requests else math.nan for r in serving.load]
        p99 = [r.p99_ms if r.requests else math.nan for r in serving.load]
        latency.plot(clients, p50, "o-", color=colour)
        latency.plot(clients, p99, "s--", color=colour)
    throughput.set(
        xlabel="concurrent clients", ylabel="requests/s", xscale="log", title="Throughput"
    )
    latency.set(
        xlabel="concurrent clients",
        ylabel="ms",
        xscale="log",
        yscale="log",
        title="Latency: p50 (solid), p99 (dashed)",
    )
    for axes in (throughput, latency):
        axes.set_xticks([r.connections for r in report.serving[0].load])
        axes.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axes.grid(True, which="both", alpha=0.3)
    # One legend under both plots: inside either, the long path names hid the lines.
    figure.legend(*throughput.get_legend_handles_labels(), loc="lower center", fontsize=9)
    figure.suptitle("POST /search, k=5, hybrid (wrk, 2 shared cores)")
    figure.tight_layout(rect=(0, 0.16, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    plt.close(figure)
