"""The encoder's own ceiling, and how far the service is from it (`make bench` measures it first).

Absolute times move by tens of percent from run to run on a shared machine; a ratio of the
service to its own model, both measured in the same round, moves far less. In each round
(`bench.serving.measure_ceiling`) the service answers 1 then 32 clients, its metrics say the
size of the encoder calls it made under load, and then the encoder alone embeds questions in
this process, the same model through the `Encoder` protocol: one at a time, and in calls of the
service's size. This module holds the encoder's side, the records and the table:

- throughput ratio: service req/s at 32 clients / encoder questions/s at the same call size;
- latency overhead: service p50 at 1 client - the encoder's time for one question;
- tail: p99 / p50 at 32 clients.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.loadgen import LoadResult, run_load
from bench.service import (
    IDLE_TIMEOUT_S,
    cpu_s,
    embedding_calls,
    free_port,
    noted,
    rss_mb,
    search_load,
    serve_until_ready,
    wait_until_idle,
)
from qa.errors import QAError
from qa.evaluation import load_questions
from qa.search.encoders import Encoder, load_encoder
from qa.settings import Settings

# The project's questions, then the French dev set's: distinct questions, so that with the
# question cache off every request embeds a question the encoder has not seen in a while.
POOL_SETS = (Path("eval/questions.jsonl"), Path("eval/piaf-dev/questions.jsonl"))
POOL_SIZE = 600
CLIENTS = 32


def question_pool(sets: Sequence[Path] = POOL_SETS, size: int = POOL_SIZE) -> list[str]:
    """Up to `size` distinct questions, in the order of `sets` and of their lines."""
    distinct = dict.fromkeys(q.question for path in sets for q in load_questions(path))
    return list(distinct)[:size]


@dataclass(frozen=True)
class EncoderRate:
    """The encoder alone embedding questions `batch` at a time."""

    batch: int
    questions_per_s: float
    ms_per_question: float  # wall time
    cpu_ms_per_question: float  # this process's CPU time, every thread


def similar_length_batches(encoder: Encoder, pool: Sequence[str], batch: int) -> list[list[str]]:
    """`pool` in calls of `batch` questions of neighbouring lengths: the encoder's best case at
    that call size (each question padded to barely more than its own length)."""
    by_length = sorted(pool, key=encoder.count_tokens)
    return [by_length[start : start + batch] for start in range(0, len(by_length), batch)]


def measure_encoder(
    encoder: Encoder, pool: Sequence[str], batch: int, duration_s: float
) -> EncoderRate:
    """Questions of `pool` embedded `batch` at a time, in turn, for about `duration_s`."""
    calls = similar_length_batches(encoder, pool, batch)
    # Calls of every length in turn, not the shortest first: a run cut short by the duration
    # would otherwise flatter the encoder.
    calls = [calls[i] for i in sorted(range(len(calls)), key=lambda i: (i * 7919) % len(calls))]
    done, call = 0, 0
    started, cpu_started = time.perf_counter(), time.process_time()
    while done == 0 or time.perf_counter() - started < duration_s:
        encoder.embed_queries(calls[call % len(calls)])
        done += len(calls[call % len(calls)])
        call += 1
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return EncoderRate(
        batch=batch,
        questions_per_s=round(done / wall, 1),
        ms_per_question=round(wall / done * 1000, 2),
        cpu_ms_per_question=round(cpu / done * 1000, 2),
    )


@dataclass(frozen=True)
class ServiceRound:
    """One service's figures in one round."""

    service: str
    one_client: LoadResult
    loaded: LoadResult  # at `CeilingReport.clients`
    mean_batch: float  # questions per encoder call while loaded (its metrics)
    cpu_ms_per_request: float | None  # while loaded


@dataclass(frozen=True)
class CeilingRound:
    encoder: list[EncoderRate]  # batch 1 first, then each service's call size
    services: list[ServiceRound]

    def encoder_at(self, batch: int) -> EncoderRate:
        return next(rate for rate in self.encoder if rate.batch == batch)


@dataclass(frozen=True)
class ServiceStart:
    service: str
    ready_s: float
    rss_ready_mb: float
    rss_after_mb: float


@dataclass(frozen=True)
class ServiceSummary:
    """One service's medians over the rounds: each ratio is taken within a round first."""

    service: str
    req_per_s: float  # at `clients`
    share_of_encoder: float  # req/s / encoder q/s at the service's call size
    p50_one_ms: float
    overhead_one_ms: float  # p50 at one client - encoder ms for one question
    p50_ms: float  # at `clients`
    p99_ms: float
    p99_over_p50: float
    mean_batch: float
    errors: int  # over every round, both loads


@dataclass(frozen=True)
class CeilingReport:
    clients: int
    questions: int
    duration_s: int
    rounds: list[CeilingRound]
    starts: list[ServiceStart]
    encoder_one_ms: float  # median over rounds
    encoder_one_per_s: float
    summaries: list[ServiceSummary]


def call_size(mean_batch: float) -> int:
    return max(1, round(mean_batch))


def _ratio(part: float, whole: float) -> float:
    """`part / whole`; 0 when `whole` is (a load that completed no request)."""
    return part / whole if whole else 0.0


def summarise(
    clients: int,
    questions: int,
    duration_s: int,
    rounds: list[CeilingRound],
    starts: list[ServiceStart],
) -> CeilingReport:
    def median(values: Sequence[float]) -> float:
        return round(statistics.median(values), 3)

    summaries = []
    for index, start in enumerate(starts):
        mine = [(r, r.services[index]) for r in rounds]
        summaries.append(
            ServiceSummary(
                service=start.service,
                req_per_s=median([s.loaded.throughput for _, s in mine]),
                share_of_encoder=median(
                    [
                        _ratio(
                            s.loaded.throughput,
                            r.encoder_at(call_size(s.mean_batch)).questions_per_s,
                        )
                        for r, s in mine
                    ]
                ),
                p50_one_ms=median([s.one_client.p50_ms for _, s in mine]),
                overhead_one_ms=median(
                    [s.one_client.p50_ms - r.encoder_at(1).ms_per_question for r, s in mine]
                ),
                p50_ms=median([s.loaded.p50_ms for _, s in mine]),
                p99_ms=median([s.loaded.p99_ms for _, s in mine]),
                p99_over_p50=median([_ratio(s.loaded.p99_ms, s.loaded.p50_ms) for _, s in mine]),
                mean_batch=median([s.mean_batch for _, s in mine]),
                errors=sum(s.one_client.error_count + s.loaded.error_count for _, s in mine),
            )
        )
    return CeilingReport(
        clients=clients,
        questions=questions,
        duration_s=duration_s,
        rounds=rounds,
        starts=starts,
        encoder_one_ms=median([r.encoder_at(1).ms_per_question for r in rounds]),
        encoder_one_per_s=median([r.encoder_at(1).questions_per_s for r in rounds]),
        summaries=summaries,
    )


def print_ceiling(report: CeilingReport, console: Console) -> None:
    for number, ceiling_round in enumerate(report.rounds, 1):
        encoder = "  ".join(
            f"b{rate.batch} {rate.questions_per_s:.0f} q/s ({rate.cpu_ms_per_question:.1f} ms CPU)"
            for rate in ceiling_round.encoder
        )
        services = "  ".join(
            f"{s.service}: 1 client p50 {s.one_client.p50_ms:.1f} ms, {report.clients} clients "
            f"{s.loaded.throughput:.1f} req/s p99 {s.loaded.p99_ms:.0f} ms, calls of "
            f"{s.mean_batch:.1f}"
            for s in ceiling_round.services
        )
        console.print(f"round {number}: encoder {encoder} | {services}", soft_wrap=True)
    table = Table(
        title=f"The encoder's ceiling: medians of {len(report.rounds)} rounds, "
        f"{report.questions} distinct questions, question cache off; encoder alone "
        f"{report.encoder_one_per_s:.1f} q/s, {report.encoder_one_ms:.2f} ms a question"
    )
    columns = (
        "service",
        "ready s",
        "RSS MB ready / after",
        f"req/s at {report.clients}",
        "of encoder",
        "1 client p50 ms",
        "- encoder ms",
        "p50 / p99 ms",
        "p99 / p50",
        "call size",
        "errors",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for start, summary in zip(report.starts, report.summaries, strict=True):
        table.add_row(
            summary.service,
            f"{start.ready_s:.2f}",
            f"{start.rss_ready_mb:.0f} / {start.rss_after_mb:.0f}",
            f"{summary.req_per_s:.1f}",
            f"{summary.share_of_encoder:.0%}",
            f"{summary.p50_one_ms:.1f}",
            f"{summary.overhead_one_ms:+.1f}",
            f"{summary.p50_ms:.0f} / {summary.p99_ms:.0f}",
            f"{summary.p99_over_p50:.2f}",
            f"{summary.mean_batch:.1f}",
            str(summary.errors),
        )
    console.print(table)


def check_baseline(baseline: Path | None) -> None:
    """Refuses a `--baseline` that is not a checkout of the project, before anything is measured."""
    if baseline is not None and not (baseline / "qa" / "__init__.py").is_file():
        raise QAError(f"--baseline {baseline}: not a checkout of this project (no qa/__init__.py)")


def measure_ceiling(
    settings: Settings, duration_s: int, rounds: int, baseline: Path | None
) -> CeilingReport:
    """The service (and the `baseline` checkout's, if given) against the encoder alone, in
    `rounds` rounds of `duration_s` seconds a measure."""
    check_baseline(baseline)
    pool = question_pool()
    bodies = [json.dumps({"question": q, "k": 5, "mode": "hybrid"}) for q in pool]
    encoder = load_encoder(settings)
    sources = {"current": None} | ({f"baseline ({baseline.name})": baseline} if baseline else {})
    with ExitStack() as stack:
        # Searches recorded, as served by default, into a database of the run's own.
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qa-bench-")))
        recorded = {"QA_ANALYTICS_URL": f"sqlite:///{folder / 'analytics.sqlite3'}"}
        served: dict[str, tuple[int, str]] = {}
        starts: dict[str, tuple[float, float]] = {}
        for name, source in sources.items():
            port = free_port()
            server, ready_s = stack.enter_context(
                serve_until_ready(port, recorded, source, settings)
            )
            served[name] = (server.pid, f"http://127.0.0.1:{port}")
            starts[name] = (ready_s, rss_mb(server.pid, "VmRSS"))
            run_load(search_load(served[name][1], bodies, 8, 1))  # first requests load lazily
        measured = []
        for _ in range(rounds):
            services = [_service_round(name, *served[name], bodies, duration_s) for name in served]
            sizes = sorted({1} | {call_size(s.mean_batch) for s in services})
            rates = [measure_encoder(encoder, pool, size, duration_s) for size in sizes]
            measured.append(noted(CeilingRound(rates, services)))
        ended = [
            ServiceStart(name, round(starts[name][0], 2), starts[name][1], rss_mb(pid, "VmRSS"))
            for name, (pid, _) in served.items()
        ]
    return summarise(CLIENTS, len(pool), duration_s, measured, ended)


def _service_round(
    name: str, pid: int, base: str, bodies: Sequence[str], duration_s: int
) -> ServiceRound:
    wait_until_idle(base, timeout_s=IDLE_TIMEOUT_S)
    one = run_load(search_load(base, bodies, 1, duration_s))
    wait_until_idle(base, timeout_s=IDLE_TIMEOUT_S)
    calls_before, cpu_before = embedding_calls(base), cpu_s(pid)
    loaded = run_load(search_load(base, bodies, CLIENTS, duration_s))
    spent_ms = (cpu_s(pid) - cpu_before) * 1000
    wait_until_idle(base, timeout_s=IDLE_TIMEOUT_S)
    calls_after = embedding_calls(base)
    calls, questions = calls_after[0] - calls_before[0], calls_after[1] - calls_before[1]
    return ServiceRound(
        service=name,
        one_client=one,
        loaded=loaded,
        mean_batch=round(questions / calls, 2) if calls else 0.0,
        cpu_ms_per_request=round(spent_ms / loaded.requests, 2) if loaded.requests else None,
    )
