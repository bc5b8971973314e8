"""How fast `qa serve` starts and how much memory it holds, over several fresh starts.

    python -m bench.startup [--starts 5] [--load 5] [--clients 8] [--baseline DIR] [--json]

Each start is a new `qa serve` on the index and model of the settings (question cache off,
searches recorded into a SQLite file of the run's own, as served by default): seconds to its
first `200` of `/ready`, its CPU seconds by then (every thread, /proc/PID/stat: unlike wall
time, hardly moved by what else the machine runs), its RSS and private memory (`RssAnon`) at
ready; then `--clients` wrk clients send it distinct questions for `--load` seconds, and its RSS,
private memory and peak RSS (`VmHWM`) are read once it is idle. With `--baseline DIR` (another
checkout of the project: `git worktree add /tmp/base <commit>`, served from this venv on the
same index and model), its starts alternate with this checkout's, and the medians come with
their ratios, current / baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from bench.ceiling import check_baseline, question_pool
from bench.loadgen import run_load
from bench.service import (
    IDLE_TIMEOUT_S,
    cpu_s,
    free_port,
    noted,
    rss_mb,
    search_load,
    serve_until_ready,
    wait_until_idle,
)
from qa.cli.arguments import ArgumentParser, exit_status, whole_number
from qa.search.store import published_manifest
from qa.settings import Settings, load_settings


@dataclass(frozen=True)
class Start:
    """One fresh `qa serve`."""

    service: str
    ready_s: float
    cpu_ready_s: float
    rss_ready_mb: float
    private_ready_mb: float
    rss_after_mb: float  # after the load, once idle
    private_after_mb: float
    peak_mb: float


@dataclass(frozen=True)
class StartMedians:
    """One service's medians over its starts (the fields of `Start` but its name)."""

    service: str
    starts: int
    ready_s: float
    cpu_ready_s: float
    rss_ready_mb: float
    private_ready_mb: float
    rss_after_mb: float
    private_after_mb: float
    peak_mb: float


FIGURES = [field.name for field in fields(Start) if field.name != "service"]
HEADINGS = {
    "ready_s": "ready s",
    "cpu_ready_s": "CPU s to ready",
    "rss_ready_mb": "RSS MB at ready",
    "private_ready_mb": "private MB at ready",
    "rss_after_mb": "RSS MB after load",
    "private_after_mb": "private MB after load",
    "peak_mb": "peak RSS MB",
}


def measure_start(
    service: str,
    source: Path | None,
    settings: Settings,
    env: dict[str, str],
    bodies: list[str],
    load_s: int,
    clients: int,
) -> Start:
    """One start of the checkout at `source` (None: this one), measured and loaded."""
    port = free_port()
    with serve_until_ready(port, env, source, settings) as (server, ready_s):
        at_ready = {
            "cpu_ready_s": round(cpu_s(server.pid), 2),
            "rss_ready_mb": rss_mb(server.pid, "VmRSS"),
            "private_ready_mb": rss_mb(server.pid, "RssAnon"),
        }
        base = f"http://127.0.0.1:{port}"
        run_load(search_load(base, bodies, clients, load_s))
        wait_until_idle(base, timeout_s=IDLE_TIMEOUT_S)
        return Start(
            service=service,
            ready_s=round(ready_s, 2),
            **at_ready,
            rss_after_mb=rss_mb(server.pid, "VmRSS"),
            private_after_mb=rss_mb(server.pid, "RssAnon"),
            peak_mb=rss_mb(server.pid, "VmHWM"),
        )


def medians(service: str, starts: list[Start]) -> StartMedians:
    mine = [start for start in starts if start.service == service]
    figures = {name: statistics.median(getattr(s, name) for s in mine) for name in FIGURES}
    return StartMedians(service=service, starts=len(mine), **figures)


def ratios(current: StartMedians, baseline: StartMedians) -> dict[str, float]:
    """current / baseline, figure by figure."""
    return {
        name: round(getattr(current, name) / getattr(baseline, name), 3)
        for name in FIGURES
        if getattr(baseline, name)
    }


def run(args: argparse.Namespace) -> int:
    check_baseline(args.baseline)
    settings = load_settings({})
    published_manifest(settings)  # no index: one line, before any server starts
    bodies = [json.dumps({"question": q, "k": 5, "mode": "hybrid"}) for q in question_pool()]
    sources = {"current": None} | (
        {f"baseline ({args.baseline.name})": args.baseline} if args.baseline else {}
    )
    with tempfile.TemporaryDirectory(prefix="qa-bench-startup-") as folder:
        env = {"QA_ANALYTICS_URL": f"sqlite:///{Path(folder) / 'analytics.sqlite3'}"}
        starts = [
            noted(measure_start(name, source, settings, env, bodies, args.load, args.clients))
            for _ in range(args.starts)
            for name, source in sources.items()  # in turn: the machine's drift hits both
        ]
    summaries = [medians(name, starts) for name in sources]
    compared = ratios(summaries[0], summaries[1]) if len(summaries) == 2 else None
    if args.json:
        report = {
            "starts": [asdict(start) for start in starts],
            "medians": [asdict(summary) for summary in summaries],
            "current_over_baseline": compared,
        }
        print(json.dumps(report, indent=2))
    else:
        print_medians(summaries, compared, args)
    return 0


def print_medians(
    summaries: list[StartMedians], compared: dict[str, float] | None, args: argparse.Namespace
) -> None:
    width = max(len(summary.service) for summary in summaries) + 2
    print(f"medians of {args.starts} starts, {args.clients} clients for {args.load} s after each")
    print(f"{'':<{width}}" + "".join(f"{HEADINGS[name]:>23}" for name in FIGURES))
    for summary in summaries:
        print(
            f"{summary.service:<{width}}"
            + "".join(f"{getattr(summary, name):>23.2f}" for name in FIGURES)
        )
    if compared is not None:
        print(
            f"{'current / baseline':<{width}}"
            + "".join(f"{compared.get(name, 0.0):>23.3f}" for name in FIGURES)
        )


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--starts", type=whole_number(1), default=5, help="starts of each")
    parser.add_argument("--load", type=whole_number(1), default=5, help="seconds of load")
    parser.add_argument("--clients", type=whole_number(1), default=8)
    parser.add_argument("--baseline", type=Path, help="another checkout, started in turn")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)
    return exit_status(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
