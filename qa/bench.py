"""Benchmark: start-up, indexing and query latency per mode, memory. `python -m qa.bench`.

Latencies are medians over the evaluation questions, repeated; each mode is also given as a
ratio to dense search measured in the same run, so figures from different machines compare.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.table import Table

from qa.chunk import ChunkingConfig
from qa.cli import ArgumentParser, whole_number
from qa.embed import load_encoder
from qa.errors import QAError
from qa.evaluate import load_questions
from qa.index import build_index, load_index
from qa.ingest import load_corpus
from qa.search import Searcher
from qa.settings import SearchMode, load_settings

MODES: tuple[SearchMode, ...] = ("dense", "lexical", "hybrid")


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m qa.bench", description=__doc__)
    parser.add_argument("--questions", type=Path, default=Path("eval/questions.jsonl"))
    parser.add_argument(
        "--repeat", type=whole_number(1), default=3, help="passes over the questions"
    )
    args = parser.parse_args(argv)
    try:
        return _run(args.questions, args.repeat)
    except QAError as error:
        print(f"qa: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _run(questions_path: Path, repeat: int) -> int:
    settings = load_settings({})
    console = Console()
    # The quick steps that most often fail come first, before seconds of model loading.
    questions = [q.question for q in load_questions(questions_path)]
    start = time.perf_counter()
    index = load_index(settings.index_dir, settings.model)
    index_load = time.perf_counter() - start
    corpus = load_corpus(settings.corpus_dir)

    start = time.perf_counter()
    encoder = load_encoder(settings)
    model_load = time.perf_counter() - start
    build = _timed(lambda: build_index(corpus, encoder, ChunkingConfig.from_settings(settings)))
    searcher = Searcher(index, encoder, settings)
    searcher.search(questions[0])  # warm-up: first call pays lazy initialisations

    latencies: dict[SearchMode, list[float]] = {mode: [] for mode in MODES}
    for _ in range(repeat):
        for question in questions:
            for mode in MODES:  # interleaved so that machine load affects every mode alike
                latencies[mode].append(_timed(partial(searcher.search, question, 5, mode)))
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    table = Table(title=f"Query latency, k=5, {len(questions)} questions x {repeat}")
    for column in ("mode", "median ms", "p90 ms", "vs dense"):
        table.add_column(column, justify="right")
    baseline = statistics.median(latencies["dense"])
    for mode in MODES:
        values = latencies[mode]
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]
        table.add_row(
            mode, f"{median * 1000:.1f}", f"{p90 * 1000:.1f}", f"{median / baseline:.2f}x"
        )
    console.print(table)
    console.print(
        f"model load {model_load:.2f} s (torch import included) · "
        f"index load {index_load * 1000:.0f} ms · "
        f"index build {build:.1f} s for {len(corpus.documents)} files "
        f"({len(index.chunks)} passages) · peak memory {rss_mib:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
