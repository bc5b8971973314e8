"""Train the learned ranker (LightGBM LambdaRank) on question sets with judgments, measure it on
held-out folds against the fused order it replaces, and write the model and its card.

Each question's top candidates (the fused ranking, `rerank_candidates` deep) are labelled 2 if
the passage is of a relevant article and holds an answer, 1 if only of a relevant article, 0
otherwise. Folds are grouped by article on the first set (a question's first relevant file), and
every other set is one group: it is held out whole, the stricter test of a corpus the model
never saw. Hyper-parameters are chosen by an inner grouped cross-validation on the training
folds only; the held-out predictions are then scored as `qa eval --compare` scores two runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.errors import QAError
from qa.evaluation.compare import MAX_P, Comparison, compare, save_figure
from qa.evaluation.evaluate import Outcome, Question, Report, contains_answer, score
from qa.search.retrieval.features import FEATURE_NAMES
from qa.search.retrieval.search import CANDIDATES, Searcher

# What the service shows and `qa eval` measures: the top 10.
DEPTH = 10
# The decision's metrics: answer@1 must win; none of these may lose significantly.
GUARDED = ("answer@1", "hit@1", "answer@5")
GRID: dict[str, tuple[Any, ...]] = {
    "num_leaves": (7, 15),
    "learning_rate": (0.05,),
    "num_boost_round": (100, 300),
    "min_data_in_leaf": (20, 50),
}
QUICK_GRID: dict[str, tuple[Any, ...]] = {
    "num_leaves": (3,),
    "learning_rate": (0.1,),
    "num_boost_round": (10, 20),
    "min_data_in_leaf": (5,),
}
SEED = 24


@dataclass(frozen=True)
class Judged:
    """One question's candidates: their feature rows, labels and files, in fused order."""

    set_name: str
    question: Question
    group: str  # the fold unit
    rows: np.ndarray
    labels: np.ndarray
    sources: list[str]
    answers: list[bool]


@dataclass(frozen=True)
class SetResult:
    name: str
    baseline: Report
    ranker: Report
    comparison: Comparison


def collect(
    searcher: Searcher, questions: Sequence[Question], set_name: str, *, by_article: bool
) -> list[Judged]:
    """The judged candidates of every answerable question, as the service computes them."""
    judged = []
    for question in questions:
        if not question.relevant:
            continue
        query = searcher.encoder.embed_queries([question.question])[0]
        dense = searcher.index.search_dense(query, CANDIDATES)
        found = searcher.candidates(question.question, dense, "hybrid", None)
        language = searcher.language_of(question.question)
        scored = searcher.reranker.features(
            searcher.index, query, question.question, language, found
        )
        chunks = searcher.index.chunks
        sources = [chunks[s.position].source for s in scored]
        answers = [
            source in question.relevant
            and contains_answer(chunks[s.position].text, question.answers)
            for s, source in zip(scored, sources, strict=True)
        ]
        labels = [
            2 if answer else int(source in question.relevant)
            for source, answer in zip(sources, answers, strict=True)
        ]
        judged.append(
            Judged(
                set_name=set_name,
                question=question,
                group=question.relevant[0] if by_article else set_name,
                rows=np.array([s.features.row() for s in scored], dtype=np.float64),
                labels=np.array(labels, dtype=np.int32),
                sources=sources,
                answers=answers,
            )
        )
    return judged


def outcome(judged: Judged, order: Sequence[int]) -> Outcome:
    """What the service would have answered with the candidates in this order."""
    top = list(order)[:DEPTH]
    answer_rank = next((rank for rank, i in enumerate(top, 1) if judged.answers[i]), None)
    return Outcome(
        question=judged.question,
        language=judged.question.lang or "unknown",
        sources=list(dict.fromkeys(judged.sources[i] for i in top)),
        answer_rank=answer_rank,
        best_score=float(judged.rows[0][FEATURE_NAMES.index("dense")])
        if len(judged.rows)
        else -1.0,
        flagged_answerable=True,
        top_passages=[],
    )


def fit(judged: Sequence[Judged], parameters: dict[str, Any]) -> Any:
    import lightgbm

    rows = np.vstack([j.rows for j in judged])
    labels = np.concatenate([j.labels for j in judged])
    data = lightgbm.Dataset(
        rows,
        labels,
        group=[len(j.labels) for j in judged],
        feature_name=list(FEATURE_NAMES),
        free_raw_data=False,
    )
    options = {k: v for k, v in parameters.items() if k != "num_boost_round"}
    return lightgbm.train(
        {
            "objective": "lambdarank",
            "metric": "ndcg",
            "lambdarank_truncation_level": DEPTH,
            "num_threads": 2,
            "deterministic": True,
            "seed": SEED,
            "verbose": -1,
            **options,
        },
        data,
        num_boost_round=parameters["num_boost_round"],
    )


def _orders(model: Any, judged: Sequence[Judged]) -> list[list[int]]:
    return [list(np.argsort(-model.predict(j.rows, num_threads=1), kind="stable")) for j in judged]


def _answer_at_1(judged: Sequence[Judged], orders: Sequence[Sequence[int]]) -> float:
    return float(
        np.mean(
            [
                j.answers[order[0]] if order else False
                for j, order in zip(judged, orders, strict=True)
            ]
        )
    )


def _folds(judged: Sequence[Judged], folds: int) -> list[tuple[list[int], list[int]]]:
    from sklearn.model_selection import GroupKFold

    groups = [j.group for j in judged]
    count = min(folds, len(set(groups)))
    if count < 2:
        raise QAError("training the ranker needs questions on at least two articles")
    splitter = GroupKFold(n_splits=count)
    return [(list(a), list(b)) for a, b in splitter.split(np.zeros(len(judged)), groups=groups)]


def choose_parameters(
    judged: Sequence[Judged], grid: Mapping[str, Sequence[Any]], folds: int = 3
) -> dict[str, Any]:
    """The grid point with the best answer@1 on an inner grouped cross-validation."""
    best: tuple[float, dict[str, Any]] | None = None
    for values in itertools.product(*grid.values()):
        parameters = dict(zip(grid, values, strict=True))
        found = []
        for train, test in _folds(judged, folds):
            model = fit([judged[i] for i in train], parameters)
            held = [judged[i] for i in test]
            found.append(_answer_at_1(held, _orders(model, held)))
        mean = float(np.mean(found))
        if best is None or mean > best[0]:
            best = (mean, parameters)
    assert best is not None
    return best[1]


def cross_validate(
    judged: Sequence[Judged], grid: Mapping[str, Sequence[Any]], folds: int
) -> tuple[list[list[int]], list[dict[str, Any]]]:
    """Held-out orders of every question, each from a model trained on the other folds with
    parameters chosen on those folds alone; and the parameters of each fold."""
    orders: list[list[int]] = [[] for _ in judged]
    chosen = []
    for train, test in _folds(judged, folds):
        training = [judged[i] for i in train]
        parameters = choose_parameters(training, grid)
        chosen.append(parameters)
        model = fit(training, parameters)
        for i, order in zip(test, _orders(model, [judged[i] for i in test]), strict=True):
            orders[i] = order
    return orders, chosen


def measure(
    judged: Sequence[Judged], orders: Sequence[list[int]], set_names: Sequence[str]
) -> list[SetResult]:
    """Per set, the fused order against the held-out ranker order, with the paired test."""
    results = []
    for name in set_names:
        picked = [(j, o) for j, o in zip(judged, orders, strict=True) if j.set_name == name]
        fused = [outcome(j, range(len(j.labels))) for j, _ in picked]
        ranked = [outcome(j, o) for j, o in picked]
        reports = [_report("fused", fused), _report("ranker", ranked)]
        results.append(SetResult(name, reports[0], reports[1], compare(reports, "fisher")))
    return results


def _report(name: str, outcomes: list[Outcome]) -> Report:
    return Report(
        name=name,
        mode="hybrid",
        k=DEPTH,
        metrics=score(outcomes, DEPTH),
        by_language={},
        outcomes=outcomes,
        unanswerable=[],
    )


def wins(results: Sequence[SetResult]) -> bool:
    """The decision rule: answer@1 up beyond noise on the first set, and no guarded metric
    significantly down on any set."""
    first = results[0]
    p = first.comparison.p_values["ranker"]
    up = (
        first.ranker.metrics["answer@1"] > first.baseline.metrics["answer@1"]
        and p["answer@1"] < MAX_P
    )
    return up and not any(
        result.ranker.metrics[name] < result.baseline.metrics[name]
        and result.comparison.p_values["ranker"][name] < MAX_P
        for result in results
        for name in GUARDED
    )


def importances(model: Any) -> dict[str, float]:
    """Each feature's share of the model's total gain."""
    gains = model.feature_importance(importance_type="gain")
    total = float(gains.sum()) or 1.0
    return {
        name: round(float(gain) / total, 4)
        for name, gain in sorted(zip(FEATURE_NAMES, gains, strict=True), key=lambda item: -item[1])
    }


def plot_importances(shares: dict[str, float], path: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = list(shares.items())[:20][::-1]
    figure, axis = plt.subplots(figsize=(7, 6))
    axis.barh([name for name, _ in top], [100 * share for _, share in top])
    axis.set_xlabel("% of the model's total gain")
    axis.set_title("The learned ranker: feature importances (top 20)")
    save_figure(figure, path)
