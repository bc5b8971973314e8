"""Load test: how `qa serve` holds up past its capacity.
`python -m bench.loadtest` (`make loadtest`).

A real `qa serve` (the configured model and index, default settings except the question cache,
off so that every request embeds its question) on a free loopback port is
driven by wrk (`bench.loadgen`) with POST /search at 1, 32 and 128 concurrent clients, each point
bounded by `--duration` seconds and a client timeout of `--timeout` seconds. Meanwhile two
threads ask `GET /health` every 100 ms: one on the service's port, one on its probe port
(`QA_PROBE_PORT`, `qa.serve.probes`). For each point it prints throughput, latency, the answers by
HTTP status, the client-side errors by kind, the latency of `/health` on both ports under that
load, and the server's resident memory before and after.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.loadgen import LoadResult, LoadSpec, run_load, wrk_path
from bench.service import PROBE_INTERVAL_S, free_port, rss_mb, serve_until_ready, wait_until_idle
from qa.cli.arguments import ArgumentParser, exit_status, whole_number
from qa.evaluation import load_questions
from qa.settings import load_settings

try:
    import httpx
except ModuleNotFoundError as missing:  # the bench extra
    raise SystemExit(
        f"bench.loadtest needs the bench extra: pip install -e '.[bench]' "
        f"({missing.name} is not installed)"
    ) from None

CONCURRENCY = (1, 32, 128)


@dataclass(frozen=True)
class HealthUnderLoad:
    """`GET /health` asked every PROBE_INTERVAL_S while the load ran; latencies in ms."""

    probes: int
    failures: int  # no answer within a second, or not 200
    p50_ms: float | None
    max_ms: float | None


@dataclass(frozen=True)
class LoadPoint:
    load: LoadResult
    health: HealthUnderLoad  # on the service's port
    probe_port_health: HealthUnderLoad
    rss_after_mb: float


@dataclass(frozen=True)
class LoadTestReport:
    rss_ready_mb: float
    points: list[LoadPoint]


@contextmanager
def probing_health(url: str) -> Iterator[list[float | None]]:
    """Asks `url` every PROBE_INTERVAL_S until the block ends; yields the latencies in seconds
    (None for a probe that failed), filled while the block runs."""
    latencies: list[float | None] = []
    done = threading.Event()

    def probe() -> None:
        with httpx.Client(timeout=1.0) as client:
            while not done.is_set():
                start = time.perf_counter()
                try:
                    ok = client.get(url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - start if ok else None)
                done.wait(PROBE_INTERVAL_S)

    prober = threading.Thread(target=probe, name="health-probe", daemon=True)
    prober.start()
    try:
        yield latencies
    finally:
        done.set()
        prober.join(timeout=5)


def summarise(latencies: Sequence[float | None]) -> HealthUnderLoad:
    answered = [seconds * 1000 for seconds in latencies if seconds is not None]
    return HealthUnderLoad(
        probes=len(latencies),
        failures=len(latencies) - len(answered),
        p50_ms=round(statistics.median(answered), 2) if answered else None,
        max_ms=round(max(answered), 2) if answered else None,
    )


def run(
    questions_path: Path, duration_s: int, timeout_s: int, concurrency: Sequence[int]
) -> LoadTestReport:
    settings = load_settings({})
    wrk_path()  # the quick checks first
    questions = [q.question for q in load_questions(questions_path)]
    bodies = [json.dumps({"question": q, "k": 5}) for q in questions]
    port, probe_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"QA_INDEX_DIR": str(settings.index_dir), "QA_PROBE_PORT": str(probe_port)}
    with serve_until_ready(port, env) as (server, _):
        spec = LoadSpec(
            url=f"{base}/search",
            method="POST",
            bodies=bodies,
            headers={"Content-Type": "application/json"},
            duration_s=1,
            connections=4,
            timeout_s=timeout_s,
        )
        run_load(spec)  # warm-up: the first requests pay lazy initialisations
        rss_ready = rss_mb(server.pid, "VmRSS")
        points = []
        for connections in concurrency:
            # wrk hangs up at the end of a run, but the searches it left admitted still hold
            # their places: a point started before they end measures the previous one's load.
            wait_until_idle(base, timeout_s=timeout_s + settings.search_deadline_s)
            with (
                probing_health(f"{base}/health") as latencies,
                probing_health(f"http://127.0.0.1:{probe_port}/health") as probe_port_latencies,
            ):
                load = run_load(replace(spec, connections=connections, duration_s=duration_s))
            points.append(
                LoadPoint(
                    load,
                    summarise(latencies),
                    summarise(probe_port_latencies),
                    rss_mb(server.pid, "VmRSS"),
                )
            )
    return LoadTestReport(rss_ready, points)


def print_report(report: LoadTestReport, console: Console) -> None:
    table = Table(title="qa serve under load: POST /search, k=5, question cache off")
    for column in (
        "clients",
        "req/s",
        "p50 ms",
        "p99 ms",
        "answers by status",
        "client errors",
        "/health p50 / max ms",
        "probe port /health",
        "RSS MB",
    ):
        table.add_column(column, justify="right")
    for point in report.points:
        load, health = point.load, point.health
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(load.statuses.items()))
        client_errors = {kind: n for kind, n in load.errors.items() if n and kind != "status"}
        table.add_row(
            str(load.connections),
            f"{load.throughput:.1f}",
            f"{load.p50_ms:.1f}",
            f"{load.p99_ms:.1f}",
            statuses or "none",
            ", ".join(f"{kind}: {n}" for kind, n in client_errors.items()) or "none",
            _latency(health),
            _latency(point.probe_port_health),
            f"{point.rss_after_mb:.0f}",
        )
    console.print(table)
    console.print(
        f"RSS at ready (after warm-up) {report.rss_ready_mb:.0f} MB; latencies are of every "
        "answer, the immediate 503s of admission control included"
    )


def _latency(health: HealthUnderLoad) -> str:
    failed = f" ({health.failures} failed)" if health.failures else ""
    return f"{health.p50_ms} / {health.max_ms}{failed}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m bench.loadtest", description=__doc__)
    parser.add_argument("--questions", type=Path, default=Path("eval/questions.jsonl"))
    parser.add_argument("--duration", type=whole_number(1, 120), default=10, help="s per point")
    parser.add_argument(
        "--timeout", type=whole_number(1, 60), default=5, help="client timeout, seconds"
    )
    parser.add_argument(
        "--concurrency", type=whole_number(1, 1024), nargs="+", default=list(CONCURRENCY)
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    def measure_and_report() -> int:
        report = run(args.questions, args.duration, args.timeout, args.concurrency)
        if args.json:
            print(json.dumps(asdict(report), indent=2))
        else:
            print_report(report, Console(width=140))
        return 0

    return exit_status(measure_and_report)


if __name__ == "__main__":
    raise SystemExit(main())
