"""`python -m bench.loadtest`: a real `qa serve` past its capacity answers fast 503s, not timeouts,
and its /health stays answered. Bad arguments are one line.

Every case runs as a real process, as `make loadtest` runs it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from qa.search.store import EmbeddedStore
from qa.settings import Settings
from tests.conftest import ROOT, assert_one_error_line, run_module


def run_loadtest(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_module("bench.loadtest", *args, cwd=cwd, env=env)


@pytest.mark.parametrize(("option", "value"), [("--duration", "0"), ("--concurrency", "x")])
def test_a_bad_argument_is_one_line(option: str, value: str, tmp_path: Path) -> None:
    result = run_loadtest(option, value, cwd=tmp_path)
    assert_one_error_line(result, option, repr(value), status=2)


def test_a_missing_index_is_one_line(tmp_path: Path) -> None:
    result = run_loadtest(cwd=ROOT, QA_INDEX_DIR=str(tmp_path / "nonexistent"))
    assert_one_error_line(result, "qa serve stopped during start-up", "no index")


def test_past_its_capacity_the_service_refuses_at_once_and_stays_healthy(
    real_index: EmbeddedStore, settings: Settings
) -> None:
    # One worker and two waiting places: 24 clients are far past that.
    result = run_loadtest(
        "--json",
        "--duration",
        "3",
        "--concurrency",
        "1",
        "24",
        cwd=ROOT,
        QA_INDEX_DIR=str(settings.index_dir),
        QA_SEARCH_WORKERS="1",
        QA_SEARCH_QUEUE="2",
    )
    assert result.returncode == 0, result.stderr
    alone, crowd = json.loads(result.stdout)["points"]
    assert set(alone["load"]["statuses"]) == {"200"}
    assert crowd["load"]["statuses"].get("503", 0) > 0  # refused at once by admission control
    assert crowd["load"]["statuses"].get("200", 0) > 0  # while the admitted ones are answered
    assert crowd["load"]["errors"]["timeout"] == 0
    for point in (alone, crowd):
        for port in ("health", "probe_port_health"):
            assert point[port]["probes"] > 0
            assert point[port]["failures"] == 0
        assert point["rss_after_mb"] > 0
