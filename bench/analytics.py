"""What recording every search costs: `qa serve` with analytics on (a SQLite file of the run's
own) and off, in alternating rounds at one client count, each round a fresh server and a wrk
load of distinct questions with the question cache off (`bench.serving`'s pieces).

    python -m bench.analytics [--rounds 6] [--duration 10] [--clients 32]

Prints each round, then the medians: throughput on and off and their ratio, the server's CPU
time per request, and the search events written per second. Alternating spreads the machine's
drift over both sides; `make bench` measures each side once, beside everything else.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from bench.serving import measure_serving
from qa.cli.arguments import ArgumentParser, exit_status, whole_number
from qa.evaluation import load_questions
from qa.search.store import published_manifest
from qa.settings import load_settings

OFF = {"QA_ANALYTICS": "false"}


def run(args: argparse.Namespace) -> int:
    published_manifest(load_settings({}))  # no index: one line, before any server starts
    questions = [q.question for q in load_questions(args.questions)]
    bodies = [json.dumps({"question": q, "k": 5, "mode": "hybrid"}) for q in questions]
    throughput: dict[str, list[float]] = {"on": [], "off": []}
    cpu: dict[str, list[float]] = {"on": [], "off": []}
    written: list[float] = []
    with tempfile.TemporaryDirectory(prefix="qa-bench-analytics-") as folder:
        on = {"QA_ANALYTICS_URL": f"sqlite:///{Path(folder) / 'analytics.sqlite3'}"}
        for number in range(args.rounds):
            order = [("on", on), ("off", OFF)] if number % 2 == 0 else [("off", OFF), ("on", on)]
            for side, env in order:
                report = measure_serving(side, env, bodies, args.duration, [args.clients])
                point, spent = report.load[0], report.cpu_ms_per_request[0]
                throughput[side].append(point.throughput)
                cpu[side].extend([spent] if spent is not None else [])
                if side == "on":
                    written.append(report.events_written_per_s[0])
                print(
                    f"round {number + 1} analytics {side:<3}: {point.throughput:6.1f} req/s, "
                    f"p50 {point.p50_ms:6.1f} ms, p99 {point.p99_ms:6.1f} ms, CPU {spent} ms/req, "
                    f"{report.events_written_per_s[0]:g} events written/s, "
                    f"{point.error_count} errors",
                    flush=True,
                )
    on_rate, off_rate = statistics.median(throughput["on"]), statistics.median(throughput["off"])
    print(
        f"{args.clients} clients, medians of {args.rounds}: analytics on {on_rate:.1f} req/s, "
        f"off {off_rate:.1f} req/s, on/off {on_rate / off_rate:.3f}; CPU "
        f"{statistics.median(cpu['on']):.2f} / {statistics.median(cpu['off']):.2f} ms/req; "
        f"{statistics.median(written):.1f} events written/s"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m bench.analytics", description=__doc__)
    parser.add_argument("--rounds", type=whole_number(1), default=6)
    parser.add_argument("--duration", type=whole_number(1), default=10, help="seconds a round")
    parser.add_argument("--clients", type=whole_number(1), default=32)
    parser.add_argument("--questions", type=Path, default=Path("eval/questions.jsonl"))
    args = parser.parse_args(argv)
    return exit_status(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
