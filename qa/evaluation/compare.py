"""Compare retrieval configurations on one question set: paired significance tests (ranx) and
recall@k / answer@k curves.

A configuration is written `PART[,PART...]`, each part either a retrieval mode (`dense`,
`lexical`, `hybrid`) or a setting `NAME=VALUE` (a field of `qa.settings.Settings`, as its `QA_`
variable would set it): `hybrid`, `fusion=rrf`, `hybrid,fusion=convex,fusion_dense_weight=0.5`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from rich.console import Console
from rich.table import Table
from rich.text import Text

from qa.content.corpus.chunk import ChunkingConfig
from qa.errors import QAError
from qa.evaluation.evaluate import (
    ANSWER_METRICS,
    DOCUMENT_METRICS,
    METRICS,
    Report,
    answer_qrels,
    answer_run,
    document_qrels,
    document_run,
    ranx_scores,
)
from qa.settings import SearchMode, Settings, load_settings

StatTest = Literal["fisher", "student"]
STAT_TESTS: tuple[StatTest, ...] = get_args(StatTest)
STAT_TEST_NAMES = {"fisher": "Fisher's randomisation test", "student": "paired Student's t-test"}
# A difference is reported significant below this p-value.
MAX_P = 0.05
# The configuration column is at least this wide (when names are), so that names do not fold.
MAX_NAME_WIDTH = 32
# Settings a configuration cannot change: they say where and how to serve, not how to rank.
FIXED = frozenset({"corpus_dir", "index_dir", "model_cache_dir", "host", "port", "cors_origins"})
PLOT_DEPTHS = range(1, 11)


@dataclass(frozen=True)
class Config:
    """One configuration to evaluate, named as it was written."""

    name: str
    mode: SearchMode | None = None
    values: dict[str, str] = field(default_factory=dict)


def parse_config(text: str) -> Config:
    """`hybrid,rrf_k=20` -> Config; anything else is a QAError naming the faulty part."""
    modes: tuple[str, ...] = get_args(SearchMode)
    mode: SearchMode | None = None
    values: dict[str, str] = {}
    parts = [part.strip() for part in text.split(",")]
    for part in parts:
        name, equals, value = part.partition("=")
        name = name.strip()
        if not equals:
            if part not in modes:
                raise QAError(
                    f"configuration {text!r}: {part!r} is neither a mode ({', '.join(modes)}) "
                    "nor a NAME=VALUE setting"
                )
            if mode is not None:
                raise QAError(f"configuration {text!r}: two modes")
            mode = part  # type: ignore[assignment]  # checked against the Literal just above
        elif name not in Settings.model_fields or name in FIXED:
            raise QAError(f"configuration {text!r}: no setting {name!r} to compare")
        elif name in values:
            raise QAError(f"configuration {text!r}: {name} given twice")
        else:
            values[name] = value.strip()
    return Config(name=text.strip(), mode=mode, values=values)


def parse_configs(texts: Sequence[str]) -> list[Config]:
    configs = [parse_config(text) for text in texts]
    names = [config.name for config in configs]
    if len(set(names)) < len(names):
        raise QAError("a configuration is given twice")
    return configs


def config_settings(base: Settings, config: Config) -> Settings:
    """The settings of a configuration: the base ones with its values (checked like QA_*)."""
    overrides = {**base.model_dump(), **config.values}
    if config.mode:
        overrides["search_mode"] = config.mode
    return load_settings(overrides)


def needs_own_index(base: Settings, settings: Settings) -> bool:
    """True when the settings index the corpus differently (chunking, model, how it runs and
    at which precision, prompts): such a configuration gets its own encoder and index."""
    return ChunkingConfig.from_settings(settings) != ChunkingConfig.from_settings(base) or any(
        getattr(settings, name) != getattr(base, name)
        for name in (
            "model",
            "encoder_backend",
            "encoder_precision",
            "query_prompt",
            "passage_prompt",
        )
    )


def opens_own_store(base: Settings, settings: Settings) -> bool:
    """True when the settings read another store (`store=postgres`, another database, another
    way of searching it): such a configuration opens that store, with the base's encoder."""
    return any(
        getattr(settings, name) != getattr(base, name)
        for name in Settings.model_fields
        if name == "store" or name.startswith(("qdrant_", "postgres_"))
    )


@dataclass(frozen=True)
class Comparison:
    """Each report's p-value against the first, per metric, from one paired test."""

    stat_test: StatTest
    p_values: dict[str, dict[str, float]]  # report name -> metric -> p


def compare(reports: Sequence[Report], stat_test: StatTest) -> Comparison:
    """ranx's paired test of every report against the first, on documents and on answers."""
    from ranx import compare as ranx_compare

    outcomes = reports[0].outcomes
    p_values: dict[str, dict[str, float]] = {report.name: {} for report in reports[1:]}
    for metrics, qrels, run in (
        (DOCUMENT_METRICS, document_qrels(outcomes), document_run),
        (ANSWER_METRICS, answer_qrels(outcomes), answer_run),
    ):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="unsafe cast")
            result = ranx_compare(
                qrels,
                [run(report.outcomes, report.k, report.name) for report in reports],
                list(metrics.values()),
                stat_test=stat_test,
                max_p=MAX_P,
                make_comparable=True,
            ).to_dict()
        first = result[reports[0].name]["comparisons"]
        for report in reports[1:]:
            for name, ranx_name in metrics.items():
                p = float(first[report.name][ranx_name])
                # Student's t is undefined (NaN) when every paired difference is 0: no change.
                p_values[report.name][name] = 1.0 if math.isnan(p) else p
    return Comparison(stat_test=stat_test, p_values=p_values)


def print_comparison(
    reports: Sequence[Report], comparison: Comparison, console: Console, title: str
) -> None:
    """Scores of every configuration; below the first, the change and its p-value."""
    table = Table(
        title=f"{title}: each configuration against the first "
        f"({STAT_TEST_NAMES[comparison.stat_test]}, * p < {MAX_P})"
    )
    # Names as long as "hybrid,fusion_dense_weight=0.5" stay on one line where they fit.
    widest = max(len(report.name) for report in reports)
    table.add_column("configuration", overflow="fold", min_width=min(widest, MAX_NAME_WIDTH))
    for name in METRICS:
        table.add_column(name, justify="right")
    first = reports[0]
    table.add_row(Text(first.name), *(f"{first.metrics[name]:.1%}" for name in METRICS))
    for report in reports[1:]:
        cells = []
        for name in METRICS:
            delta = report.metrics[name] - first.metrics[name]
            p = comparison.p_values[report.name][name]
            mark = "*" if p < MAX_P else ""
            cells.append(f"{report.metrics[name]:.1%}\n{100 * delta:+.1f} pt\np={p:.3f}{mark}")
        table.add_row(Text(report.name), *cells)
    console.print(table)


def curves(report: Report) -> dict[str, list[float]]:
    """recall@k and answer@k for k in PLOT_DEPTHS."""
    recall = ranx_scores(
        document_qrels(report.outcomes),
        document_run(report.outcomes, report.k),
        [f"recall@{k}" for k in PLOT_DEPTHS],
    )
    answer = ranx_scores(
        answer_qrels(report.outcomes),
        answer_run(report.outcomes, report.k),
        [f"hit_rate@{k}" for k in PLOT_DEPTHS],
    )
    return {
        "recall": [recall[f"recall@{k}"] for k in PLOT_DEPTHS],
        "answer": [answer[f"hit_rate@{k}"] for k in PLOT_DEPTHS],
    }


def plot(reports: Sequence[Report], path: Path, title: str) -> None:
    """recall@k and answer@k, k = 1..10, one line per configuration, into a PNG file."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    depths = list(PLOT_DEPTHS)
    for report in reports:
        points = curves(report)
        for axis, metric in zip(axes, ("recall", "answer"), strict=True):
            axis.plot(depths, [100 * v for v in points[metric]], marker="o", label=report.name)
    for axis, metric in zip(axes, ("recall@k (documents)", "answer@k (passages)"), strict=True):
        axis.set_title(metric)
        axis.set_xlabel("k")
        axis.set_xticks(depths)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("% of answerable questions")
    axes[1].legend(loc="lower right")
    figure.suptitle(title)
    save_figure(figure, path)


def save_figure(figure: Any, path: Path) -> None:
    """Write a matplotlib figure as a PNG and close it; a file that cannot be written is one
    QAError."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    try:
        figure.savefig(path, dpi=110)
    except OSError as error:
        raise QAError(f"cannot write the plot {path}: {error.strerror or error}") from error
    finally:
        plt.close(figure)
