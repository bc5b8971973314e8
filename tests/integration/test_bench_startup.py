"""`python -m bench.startup`: fresh starts of `qa serve`, this checkout's and a baseline
checkout's in turn, each measured at ready and after a load; bad arguments are one line.

Every case runs as a real process; the measuring one starts real servers on the real index and
the default model, and loads them with wrk."""

from __future__ import annotations

import json
from pathlib import Path

from qa.search.store import EmbeddedStore
from qa.settings import Settings
from tests.conftest import ROOT, assert_one_error_line, run_module

FIGURES = (
    "ready_s",
    "cpu_ready_s",
    "rss_ready_mb",
    "private_ready_mb",
    "rss_after_mb",
    "private_after_mb",
    "peak_mb",
)


def test_a_baseline_that_is_not_a_checkout_is_one_line(tmp_path: Path) -> None:
    result = run_module("bench.startup", "--baseline", str(tmp_path), cwd=ROOT)
    assert_one_error_line(result, "--baseline", "not a checkout")


def test_a_missing_index_is_one_line(tmp_path: Path) -> None:
    result = run_module("bench.startup", cwd=ROOT, env={"QA_INDEX_DIR": str(tmp_path / "none")})
    assert_one_error_line(result, "index")


def test_the_starts_alternate_with_the_baseline_and_give_medians_and_ratios(
    real_index: EmbeddedStore, settings: Settings
) -> None:
    result = run_module(
        "bench.startup",
        *("--starts", "2", "--load", "1", "--clients", "2", "--json", "--baseline", str(ROOT)),
        cwd=ROOT,
        env={"QA_INDEX_DIR": str(settings.index_dir)},
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    baseline = f"baseline ({ROOT.name})"
    assert [start["service"] for start in report["starts"]] == ["current", baseline] * 2
    for start in report["starts"]:
        assert start["ready_s"] > 0
        assert start["cpu_ready_s"] > 0
        assert 0 < start["private_ready_mb"] < start["rss_ready_mb"] <= start["peak_mb"]
        assert 0 < start["private_after_mb"] < start["rss_after_mb"] <= start["peak_mb"]
    assert [summary["service"] for summary in report["medians"]] == ["current", baseline]
    assert all(summary["starts"] == 2 for summary in report["medians"])
    assert set(report["current_over_baseline"]) == set(FIGURES)
    assert all(ratio > 0 for ratio in report["current_over_baseline"].values())
    assert result.stderr.count("qa bench: ") == 4  # each start as it is measured
