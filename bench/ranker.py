"""What the learned ranker adds to a search: `Searcher.search` at k=10 with the ranker on and
off, in one process over the same index and questions, alternating question by question (the
question cache on, as served, and warm: the encoder's time is the same either way).

    python -m bench.ranker [--questions eval/questions.jsonl] [--rounds 5]

Prints the medians on and off, their difference and ratio, and the ranker's own parts: the
features of the candidates and the model's scoring.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from qa.cli.arguments import ArgumentParser, console, exit_status, whole_number
from qa.evaluation import load_questions
from qa.search.encoders import load_encoder
from qa.search.retrieval import CANDIDATES, Searcher
from qa.search.store import open_store
from qa.settings import load_settings


def run(args: argparse.Namespace) -> int:
    settings = load_settings({})
    questions = [q.question for q in load_questions(args.questions)]
    index = open_store(settings)
    encoder = load_encoder(settings)
    searchers = {
        "off": Searcher(index, encoder, settings.model_copy(update={"ranker": False})),
        "on": Searcher(index, encoder, settings.model_copy(update={"ranker": True})),
    }
    for searcher in searchers.values():
        for question in questions:  # warm: vectors, languages, analysed passages
            searcher.search(question, 10, "hybrid")
    times: dict[str, list[float]] = {"off": [], "on": []}
    for number in range(args.rounds):
        for question in questions:
            order = ("off", "on") if number % 2 == 0 else ("on", "off")
            for name in order:
                started = time.perf_counter()
                searchers[name].search(question, 10, "hybrid")
                times[name].append(time.perf_counter() - started)
    features, scoring = _parts(searchers["on"], questions)
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    console.print(
        f"{len(times['on'])} searches each, k=10, hybrid, {len(index.chunks)} passages\n"
        f"median off {1e3 * off:.3f} ms, on {1e3 * on:.3f} ms: +{1e3 * (on - off):.3f} ms, "
        f"ratio {on / off:.2f}\n"
        f"ranker's parts (median per search): features {1e3 * features:.3f} ms, "
        f"model {1e3 * scoring:.3f} ms",
        markup=False,
    )
    return 0


def _parts(searcher: Searcher, questions: list[str]) -> tuple[float, float]:
    """Median time of the candidates' features, and of the model's scores, per search."""
    import numpy as np

    assert searcher.reranker.model is not None
    features, scoring = [], []
    for question in questions:
        query = searcher.encoder.embed_queries([question])[0]
        dense = searcher.index.search_dense(query, CANDIDATES)
        found = searcher.candidates(question, dense, "hybrid", None)
        language = searcher.language_of(question)
        started = time.perf_counter()
        scored = searcher.reranker.features(searcher.index, query, question, language, found)
        features.append(time.perf_counter() - started)
        rows = np.array([s.features.row() for s in scored])
        started = time.perf_counter()
        searcher.reranker.model.score(rows)
        scoring.append(time.perf_counter() - started)
    return statistics.median(features), statistics.median(scoring)


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m bench.ranker", description=__doc__)
    parser.add_argument("--questions", type=Path, default=Path("eval/questions.jsonl"))
    parser.add_argument("--rounds", type=whole_number(1, 100), default=5)
    args = parser.parse_args(argv)
    return exit_status(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
