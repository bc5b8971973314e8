"""`qa train-ranker`: train the learned ranker on question sets, measure it on held-out folds,
write the model and its card (docs/evaluation.md, "A learned ranker")."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from qa.cli.arguments import console, error_console, whole_number
from qa.errors import QAError, require_extra
from qa.search.retrieval.ranker import PACKAGED_MODEL, card_path, sha256_of
from qa.settings import Settings, load_settings

if TYPE_CHECKING:
    from qa.evaluation.train_ranker import SetResult
    from qa.search.encoders import Encoder

DEFAULT_SETS = [
    ["eval/piaf-dev/questions.jsonl", "eval/piaf-dev/docs", "index/piaf-dev"],
    ["eval/questions.jsonl", "seeds", "index"],
]


def add_train_ranker_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--set",
        nargs=3,
        action="append",
        dest="sets",
        metavar=("QUESTIONS", "CORPUS", "INDEX_DIR"),
        help="a question set, its corpus and index folder (built if missing); the first set's "
        "folds are grouped by article and decide, each other set is held out whole "
        "(default: piaf-dev, then the project's set)",
    )
    command.add_argument("--out", type=Path, default=PACKAGED_MODEL, help="the model file to write")
    command.add_argument(
        "--folds", type=whole_number(2, 20), default=5, help="outer folds (default 5)"
    )
    command.add_argument("--quick", action="store_true", help="a tiny grid of small models (tests)")
    command.add_argument(
        "--plot", type=Path, metavar="FILE.png", help="draw the feature importances"
    )


def run_train_ranker(
    args: argparse.Namespace,
    settings: Settings,
    *,
    load_encoder: Callable[[Settings], Encoder],
    build_index: Callable[[Settings, Console], None],
) -> int:
    require_extra("eval", "qa train-ranker", "ranx", "sklearn", "lightgbm")
    from qa.evaluation.evaluate import load_questions
    from qa.evaluation.train_ranker import (
        GRID,
        QUICK_GRID,
        choose_parameters,
        collect,
        cross_validate,
        fit,
        importances,
        measure,
        plot_importances,
        wins,
    )
    from qa.indexing.staleness import published_index_problems
    from qa.search.retrieval.search import Searcher
    from qa.search.store.choice import open_store

    if args.plot and args.plot.suffix.lower() != ".png":
        raise QAError(f"plot file {args.plot} must end in .png")
    sets = [(Path(q), Path(c), Path(i)) for q, c, i in (args.sets or DEFAULT_SETS)]
    questions = {q: load_questions(q) for q, _, _ in sets}  # a bad set fails before any work
    names = [_name(q) for q, _, _ in sets]
    if len(set(names)) < len(names):
        raise QAError("a question set is given twice")
    # Candidates as the service fuses them, the ranker off.
    base = settings.model_copy(update={"ranker": False})
    encoder = load_encoder(base)
    judged = []
    for number, ((path, corpus, index_dir), name) in enumerate(zip(sets, names, strict=True)):
        chosen = load_settings({**base.model_dump(), "corpus_dir": corpus, "index_dir": index_dir})
        if problems := published_index_problems(chosen):
            error_console.print(f"qa: indexing {corpus} first ({problems[0]})", markup=False)
            build_index(chosen, error_console)
        searcher = Searcher(open_store(chosen), encoder, chosen)
        judged += collect(searcher, questions[path], name, by_article=number == 0)
    grid = QUICK_GRID if args.quick else GRID
    orders, per_fold = cross_validate(judged, grid, args.folds)
    results = measure(judged, orders, names)
    on = wins(results)
    parameters = choose_parameters(judged, grid)
    model = fit(judged, parameters)
    shares = importances(model)
    _print(results, on)
    text = model.model_to_string().encode("utf-8")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(text)
    card = {
        "sha256": sha256_of(text),
        "features": list(model.feature_name()),
        "candidates": settings.rerank_candidates,
        "command": "qa " + shlex.join(sys.argv[1:]) if sys.argv else "qa train-ranker",
        "data": {
            name: {"questions": str(q), "corpus": str(c), "index": str(i), "answerable": count}
            for (q, c, i), name, count in zip(
                sets, names, [sum(j.set_name == n for j in judged) for n in names], strict=True
            )
        },
        "parameters": {"final": parameters, "per_fold": per_fold},
        "metrics": {"held_out": [_as_json(result) for result in results], "importances": shares},
        "default_on": on,
    }
    card_path(args.out).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    if args.plot:
        plot_importances(shares, args.plot)
    console.print(f"wrote {args.out} and {card_path(args.out).name}", markup=False)
    return 0


def _name(questions: Path) -> str:
    return f"{questions.parent.name}/{questions.name}" if questions.parent.name else questions.name


def _as_json(result: SetResult) -> dict[str, object]:
    p = result.comparison.p_values["ranker"]
    return {
        "set": result.name,
        "questions": len(result.baseline.outcomes),
        "fused": {n: round(v, 4) for n, v in result.baseline.metrics.items()},
        "ranker": {n: round(v, 4) for n, v in result.ranker.metrics.items()},
        "p_values": {n: round(v, 4) for n, v in p.items()},
    }


def _print(results: list[SetResult], on: bool) -> None:
    from qa.evaluation.compare import print_comparison

    wide = Console(width=max(console.width, 150))
    for result in results:
        print_comparison(
            [result.baseline, result.ranker], result.comparison, wide, f"{result.name}, held out"
        )
    verdict = (
        "wins beyond noise: on by default" if on else "does not win beyond noise: off by default"
    )
    wide.print(f"the ranker {verdict}", markup=False)
