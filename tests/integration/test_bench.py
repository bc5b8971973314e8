"""`python -m bench.serving`: bad arguments and settings are one line; a quick run reports the
encoder's ceiling and both paths; the ceiling alone serves a baseline checkout beside.

Every case runs as a real process, as `make bench` runs it. The error cases fail before any
model load; the quick run measures the encoder alone against `qa serve`, then starts `qa serve`
twice (ONNX + batching, then PyTorch), drives both with wrk and indexes a small generated corpus
with both encoders.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from qa.search.store import EmbeddedStore
from qa.settings import Settings
from tests.conftest import ROOT, assert_one_error_line, run_module


def run_bench(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_module("bench.serving", *args, cwd=cwd, env=env)


@pytest.mark.parametrize("duration", ["0", "-1", "two"])
def test_a_duration_below_one_second_is_refused_when_parsing(duration: str, tmp_path: Path) -> None:
    result = run_bench("--duration", duration, cwd=tmp_path)
    assert_one_error_line(result, "--duration", "at least 1", repr(duration), status=2)


def test_a_missing_question_set_is_one_line(tmp_path: Path) -> None:
    result = run_bench("--questions", "missing.jsonl", cwd=tmp_path)
    assert_one_error_line(result, "cannot read question set missing.jsonl")


def test_a_missing_index_is_one_line(tmp_path: Path) -> None:
    result = run_bench(cwd=ROOT, QA_INDEX_DIR=str(tmp_path / "nonexistent"))
    assert_one_error_line(result, "no index in", "qa index")


def test_an_invalid_setting_is_one_line(tmp_path: Path) -> None:
    result = run_bench(cwd=ROOT, QA_RRF_K="0")
    assert_one_error_line(result, "QA_RRF_K")


def test_a_missing_wrk_says_how_to_install_it(tmp_path: Path) -> None:
    result = run_bench(cwd=ROOT, PATH=str(tmp_path))
    assert_one_error_line(result, "wrk is not installed", "apt-get install wrk")


def test_a_baseline_that_is_not_a_checkout_is_one_line(tmp_path: Path) -> None:
    result = run_bench("--ceiling-only", "--baseline", str(tmp_path), cwd=ROOT)
    assert_one_error_line(result, "--baseline", "not a checkout")


def assert_ceiling(ceiling: dict[str, Any], services: list[str]) -> None:
    assert [start["service"] for start in ceiling["starts"]] == services
    assert ceiling["questions"] == 600
    for measured in ceiling["rounds"]:
        sizes = [rate["batch"] for rate in measured["encoder"]]
        assert sizes[0] == 1
        for service in measured["services"]:
            # The encoder was measured at the size of the calls the service made under load.
            assert max(1, round(service["mean_batch"])) in sizes
            assert service["mean_batch"] >= 1
    for summary in ceiling["summaries"]:
        assert summary["errors"] == 0
        assert summary["req_per_s"] > 0
        assert summary["share_of_encoder"] > 0
        assert summary["p99_over_p50"] >= 1
    assert ceiling["encoder_one_ms"] > 0


def test_the_ceiling_alone_measures_a_baseline_checkout_in_the_same_rounds(
    real_index: EmbeddedStore, settings: Settings
) -> None:
    result = run_bench(
        *("--ceiling-only", "--json", "--rounds", "1", "--duration", "2"),
        *("--baseline", str(ROOT)),
        cwd=ROOT,
        QA_INDEX_DIR=str(settings.index_dir),
    )
    assert result.returncode == 0, result.stderr
    ceiling = json.loads(result.stdout)
    assert_ceiling(ceiling, ["current", f"baseline ({ROOT.name})"])
    assert "The encoder's ceiling" in result.stderr  # the table, beside the JSON


def test_a_quick_run_measures_both_paths(
    real_index: EmbeddedStore, settings: Settings, tmp_path: Path
) -> None:
    plot = tmp_path / "bench.png"
    result = run_bench(
        "--quick", "--json", "--plot", str(plot), cwd=ROOT, QA_INDEX_DIR=str(settings.index_dir)
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert_ceiling(report["ceiling"], ["current"])
    new, old = report["serving"]
    repeated, analytics_off = report["repeated"], report["analytics_off"]
    assert new["path"].startswith("ONNX")
    assert analytics_off["path"] == f"{new['path']}, analytics off"
    # Every search the new path answered was recorded; none with analytics off.
    assert sum(new["events_written_per_s"]) > 0
    assert sum(analytics_off["events_written_per_s"]) == sum(old["events_written_per_s"]) == 0
    assert old["path"].startswith("PyTorch")
    assert repeated["path"].startswith(new["path"])
    assert "question cache on" in repeated["path"]
    for serving in (new, old, repeated, analytics_off):
        assert [point["connections"] for point in serving["load"]] == [1, 8]
        for point in serving["load"]:
            assert sum(point["errors"].values()) == 0
            assert point["requests"] == 0 or 0 < point["p50_ms"] <= point["p99_ms"]
        # On a busy machine one point may see no request completed, not a whole path.
        assert sum(point["requests"] for point in serving["load"]) > 0
        assert serving["ready_s"] > 0
        assert 0 < serving["rss_ready_mb"] <= serving["peak_rss_mb"]
        assert 0 < serving["private_ready_mb"] < serving["rss_ready_mb"]
        assert 0 < serving["private_after_load_mb"] < serving["rss_after_load_mb"]
        for point, cpu in zip(serving["load"], serving["cpu_ms_per_request"], strict=True):
            assert cpu is None if point["requests"] == 0 else cpu > 0
    fast, slow = report["indexing"]
    assert fast["corpus_mb"] == slow["corpus_mb"] >= 0.02
    assert fast["passages"] == slow["passages"] > 0
    assert fast["seconds"] > 0
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_the_analytics_rounds_measure_both_sides_and_count_the_events_written(
    real_index: EmbeddedStore, settings: Settings
) -> None:
    result = run_module(
        "bench.analytics",
        *("--rounds", "2", "--duration", "2", "--clients", "4"),
        cwd=ROOT,
        env={"QA_INDEX_DIR": str(settings.index_dir)},
    )

    assert result.returncode == 0, result.stderr
    rounds = [line for line in result.stdout.splitlines() if line.startswith("round ")]
    sides = [line.split()[3].rstrip(":") for line in rounds]
    assert sides == ["on", "off", "off", "on"]  # alternating
    for line in rounds:
        written = float(line.split(" events written/s")[0].rsplit(" ", 1)[1])
        assert (written > 0) == (" on " in line), line
    assert "4 clients, medians of 2: analytics on" in result.stdout


def test_the_analytics_rounds_need_an_index(tmp_path: Path) -> None:
    result = run_module("bench.analytics", cwd=tmp_path, env={"QA_INDEX_DIR": str(tmp_path)})
    assert_one_error_line(result, "index")
