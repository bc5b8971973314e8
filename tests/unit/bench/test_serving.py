"""`bench.serving`'s pure parts: the generated corpus and the idle test on /metrics (the tools
as real processes are in tests/integration/test_bench.py and test_loadtest.py)."""

from __future__ import annotations

from pathlib import Path

from bench.service import searches_admitted
from bench.serving import generate_corpus
from qa.serve import metrics
from tests.conftest import SEEDS


def test_the_generated_corpus_varies_about_one_word_in_six_of_each_copy(tmp_path: Path) -> None:
    generate_corpus(tmp_path, [SEEDS], 100_000)
    files = sorted(tmp_path.glob("*.txt"))
    assert sum(len(path.read_bytes()) for path in files) >= 100_000
    copies = [path for path in files if not path.name.startswith("000_")]
    assert copies
    for copy in copies:
        original = (SEEDS / copy.name[4:]).read_text(encoding="utf-8").split()
        words = copy.read_text(encoding="utf-8").split()
        assert len(words) == len(original)
        changed = sum(a != b for a, b in zip(words, original, strict=True)) / len(words)
        assert 0.08 < changed < 0.25


def test_the_service_counts_as_idle_only_with_no_search_waiting_or_running() -> None:
    queued, running = metrics.SEARCHES_QUEUED, metrics.SEARCHES_IN_PROGRESS
    assert searches_admitted(metrics.exposition().decode()) == 0
    queued.inc(2)
    running.inc()
    try:
        assert searches_admitted(metrics.exposition().decode()) == 3
    finally:
        queued.dec(2)
        running.dec()
