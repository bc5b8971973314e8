"""Benchmark: `python -m bench.serving` (`make bench`) measures, in one run, the service as it is
and as it was (PyTorch, one question at a time), so every figure has a ratio from the same run.

- The ceiling, first (`bench.ceiling`): in rounds, the service at 1 and 32 clients against the
  encoder alone, the same model in this process, at the call sizes the service formed: the
  share of the encoder's throughput the service reaches and its latency beyond the model's.
  `--baseline DIR` serves another checkout of the project (a `git worktree` of an earlier
  commit) in the same rounds; `--ceiling-only` stops there.
- Serving: `qa serve` as a subprocess per path: time to `/ready`, RSS at ready and after the
  load, then an HTTP load table (POST /search, k=5, hybrid) at 1, 8, 32 and 64 concurrent
  clients, driven by wrk (`bench.loadgen`). The question cache is off: every request embeds.
  The new path records every search (analytics on, the default, in a SQLite file), and is
  measured again with analytics off, with the search events written per second.
- Indexing: passages/s and MB of text per minute on a generated corpus of at least 1 MB.
"""

from __future__ import annotations

import json
import random
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

from rich.console import Console

from bench.ceiling import CeilingReport, check_baseline, measure_ceiling, print_ceiling
from bench.loadgen import LoadResult, LoadSpec, run_load, wrk_path
from bench.report import BenchReport, IndexingReport, ServingReport, plot, print_report
from bench.service import (
    IDLE_TIMEOUT_S,
    cpu_s,
    events_written,
    free_port,
    noted,
    rss_mb,
    serve_until_ready,
    wait_until_idle,
)
from qa.cli.arguments import ArgumentParser, exit_status, whole_number
from qa.content.corpus import ChunkingConfig, chunk_document, load_corpus
from qa.errors import QAError
from qa.evaluation import load_questions
from qa.indexing import build_index
from qa.search.encoders import load_encoder
from qa.search.store import published_manifest
from qa.settings import Settings, load_settings

CONCURRENCY = (1, 8, 32, 64)
DEV_DOCS = Path("eval/piaf-dev/docs")  # the French dev set kept in the repository
# The service as it was: PyTorch, each request embedding its own question.
OLD_PATH = {"QA_ENCODER_BACKEND": "torch", "QA_BATCH_MAX": "1", "QA_ANALYTICS": "false"}
ANALYTICS_OFF = {"QA_ANALYTICS": "false"}
OLD_NAME = "PyTorch, one at a time"


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m bench.serving", description=__doc__)
    parser.add_argument("--questions", type=Path, default=Path("eval/questions.jsonl"))
    parser.add_argument("--duration", type=whole_number(1), default=5, help="seconds per point")
    parser.add_argument("--concurrency", type=whole_number(1), nargs="+", default=list(CONCURRENCY))
    parser.add_argument("--corpus-mb", type=float, default=1.0, help="generated corpus size")
    parser.add_argument("--quick", action="store_true", help="a small run, for tests")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--plot", type=Path, help="write a PNG of the load tables here")
    parser.add_argument("--rounds", type=whole_number(1), default=3, help="rounds of the ceiling")
    parser.add_argument(
        "--baseline", type=Path, help="a checkout of the project to serve in the ceiling's rounds"
    )
    parser.add_argument("--ceiling-only", action="store_true", help="measure the ceiling only")
    args = parser.parse_args(argv)
    if args.quick:
        # Three seconds a point: on a busy machine a one-second point may complete nothing.
        args.duration, args.concurrency, args.corpus_mb, args.rounds = 3, [1, 8], 0.02, 1

    def measure_and_report() -> int:
        settings = load_settings({})
        # The quick steps that most often fail come first, before minutes of measuring.
        check_baseline(args.baseline)
        wrk_path()
        questions = [q.question for q in load_questions(args.questions)]
        published_manifest(settings)
        console = Console(width=150, stderr=args.json)
        ceiling = measure_ceiling(settings, args.duration, args.rounds, args.baseline)
        print_ceiling(ceiling, console)
        if args.ceiling_only:
            if args.json:
                print(json.dumps(asdict(ceiling), indent=2))
            return 0
        report = run(settings, questions, args.duration, args.concurrency, args.corpus_mb, ceiling)
        if args.json:
            print(json.dumps(asdict(report), indent=2))
        else:
            print_report(report, console)
        if args.plot:
            plot(report, args.plot)
        return 0

    return exit_status(measure_and_report)


def run(
    settings: Settings,
    questions: Sequence[str],
    duration_s: int,
    concurrency: Sequence[int],
    corpus_mb: float,
    ceiling: CeilingReport,
) -> BenchReport:
    bodies = [json.dumps({"question": q, "k": 5, "mode": "hybrid"}) for q in questions]
    new_path = f"ONNX {settings.encoder_precision}, batches of <= {settings.batch_max}"
    with tempfile.TemporaryDirectory(prefix="qa-bench-analytics-") as folder:
        # Analytics on, as served by default, into a database of the run's own.
        recorded = {"QA_ANALYTICS_URL": f"sqlite:///{Path(folder) / 'analytics.sqlite3'}"}
        serving = [
            noted(measure_serving(new_path, recorded, bodies, duration_s, concurrency)),
            noted(measure_serving(OLD_NAME, OLD_PATH, bodies, duration_s, concurrency)),
        ]
        analytics_off = noted(
            measure_serving(
                f"{new_path}, analytics off", ANALYTICS_OFF, bodies, duration_s, concurrency
            )
        )
        # The same questions over and over with the question cache on, as a widget's readers
        # ask them: what a repeated question costs, never read as the cost of a new one.
        repeated = noted(
            measure_serving(
                f"{new_path}, questions repeated, question cache on",
                recorded
                | {"QA_QUERY_CACHE_SIZE": str(max(settings.query_cache_size, len(questions)))},
                bodies,
                duration_s,
                concurrency,
            )
        )
    with tempfile.TemporaryDirectory(prefix="qa-bench-corpus-") as folder:
        corpus_dir = Path(folder)
        generate_corpus(corpus_dir, [settings.corpus_dir, DEV_DOCS], int(corpus_mb * 1e6))
        indexing = [
            noted(measure_indexing(new_path, settings, corpus_dir, as_before=False)),
            noted(
                measure_indexing(
                    "PyTorch, passages then sentences",
                    settings.model_copy(update={"encoder_backend": "torch"}),
                    corpus_dir,
                    as_before=True,
                )
            ),
        ]
    return BenchReport(new_path, serving, repeated, indexing, analytics_off, ceiling)


# ------------------------------------------------------------------------------------ serving


def measure_serving(
    path: str,
    env: dict[str, str],
    bodies: Sequence[str],
    duration_s: int,
    concurrency: Sequence[int],
) -> ServingReport:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serve_until_ready(port, env) as (server, ready_s):
        rss_ready = rss_mb(server.pid, "VmRSS")
        private_ready = rss_mb(server.pid, "RssAnon")
        spec = LoadSpec(
            url=f"{url}/search",
            method="POST",
            bodies=bodies,
            headers={"Content-Type": "application/json"},
            duration_s=1,
            connections=8,
        )
        run_load(spec)  # warm-up: first requests pay lazy initialisations
        load: list[LoadResult] = []
        cpu: list[float | None] = []
        events: list[float] = []
        for connections in concurrency:
            # wrk hangs up at the end of a run, but the searches it left admitted still hold
            # their places: a point started before they end measures the previous one's load.
            wait_until_idle(url, timeout_s=IDLE_TIMEOUT_S)
            before, written = cpu_s(server.pid), events_written(url)
            result = run_load(replace(spec, connections=connections, duration_s=duration_s))
            load.append(result)
            spent_ms = (cpu_s(server.pid) - before) * 1000
            cpu.append(round(spent_ms / result.requests, 2) if result.requests else None)
            wait_until_idle(url, timeout_s=IDLE_TIMEOUT_S)
            events.append(round((events_written(url) - written) / duration_s, 1))
        return ServingReport(
            path=path,
            ready_s=round(ready_s, 2),
            rss_ready_mb=rss_ready,
            rss_after_load_mb=rss_mb(server.pid, "VmRSS"),
            peak_rss_mb=rss_mb(server.pid, "VmHWM"),
            private_ready_mb=private_ready,
            private_after_load_mb=rss_mb(server.pid, "RssAnon"),
            load=load,
            cpu_ms_per_request=cpu,
            events_written_per_s=events,
        )


# ----------------------------------------------------------------------------------- indexing


def generate_corpus(out: Path, sources: Sequence[Path], min_bytes: int) -> None:
    """At least `min_bytes` of articles in `out`: the `.txt` files of `sources`, then copies of
    them in which about one word in six is swapped for another of the corpus, so that no copy
    repeats a sentence (which would flatter an indexer that embeds each text once)."""
    articles = [p for folder in sources if folder.is_dir() for p in sorted(folder.glob("*.txt"))]
    if not articles:
        raise QAError(f"no articles to generate a corpus from in {', '.join(map(str, sources))}")
    texts = [(p.name, p.read_text(encoding="utf-8")) for p in articles]
    vocabulary = sorted({w for _, text in texts for w in re.findall(r"\w{4,}", text)})
    size, copy = 0, 0
    while size < min_bytes:
        variant = random.Random(copy)
        for name, text in texts:
            if copy:
                text = _vary(text, variant, vocabulary)
            (out / f"{copy:03d}_{name}").write_text(text, encoding="utf-8")
            size += len(text.encode("utf-8"))
            if size >= min_bytes:
                return
        copy += 1


def _vary(text: str, variant: random.Random, vocabulary: Sequence[str]) -> str:
    def swap(word: re.Match[str]) -> str:
        return variant.choice(vocabulary) if variant.random() < 0.17 else word[0]

    return re.sub(r"\w{4,}", swap, text)


def measure_indexing(
    path: str, settings: Settings, corpus_dir: Path, *, as_before: bool
) -> IndexingReport:
    """Time to index `corpus_dir`, model load excluded. `as_before`: chunk, then embed the
    passages and every sentence of them in two calls, as the indexer did (a lower bound of its
    time: no FAISS or BM25 building)."""
    corpus = load_corpus(corpus_dir)
    encoder = load_encoder(settings)
    chunking = ChunkingConfig.from_settings(settings)
    start = time.perf_counter()
    if as_before:
        chunks = [
            chunk
            for document in corpus.documents
            for chunk in chunk_document(document, encoder.count_tokens, chunking)
        ]
        encoder.embed_passages([chunk.match_text for chunk in chunks])
        encoder.embed_passages([c.text_of(span) for c in chunks for span in c.sentences])
    else:
        chunks = list(build_index(corpus, encoder, chunking).chunks)
    seconds = time.perf_counter() - start
    megabytes = sum(len(d.text.encode("utf-8")) for d in corpus.documents) / 1e6
    return IndexingReport(
        path=path,
        corpus_mb=round(megabytes, 3),
        passages=len(chunks),
        sentences=sum(len(chunk.sentences) for chunk in chunks),
        seconds=round(seconds, 1),
        passages_per_s=round(len(chunks) / seconds, 1),
        mb_per_min=round(megabytes / seconds * 60, 3),
    )


if __name__ == "__main__":
    raise SystemExit(main())
