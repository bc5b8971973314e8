"""`python -m bench.capacity`: the quick run prints both tables, with every index type, and bad
arguments are one line. Run as a real process, as `make bench-scale` runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT, assert_one_error_line, run_module


def cells(output: str, label: str) -> list[str]:
    """The cells of the Markdown row whose first cell is `label`."""
    for line in output.splitlines():
        row = [cell.strip() for cell in line.strip("|").split("|")]
        if row[0] == label:
            return row
    raise AssertionError(f"no row {label!r} in:\n{output}")


def test_quick_run_measures_every_index_type_and_the_sentence_paths() -> None:
    result = run_module("bench.capacity", "--quick", "--markdown", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "10,000 passages x 384 dims, 50 queries, k=10, 1 thread(s)" in out
    exact = cells(out, "exact")
    assert exact[-1] == "1.000"  # recall@10 of exact against itself
    assert exact[2] == "1536"  # 384 float32 per passage
    for label in (
        "HNSW32 ef64",
        "HNSW32 ef128",
        "IVF-Flat np16",
        "IVF-Flat np64",
        "IVF-PQ48 np16",
        "IVF-PQ48 np64",
    ):
        row = cells(out, label)
        assert 0.5 <= float(row[-1]) <= 1.0, row
        assert 0 < float(row[4]) <= float(row[5]), row  # p50 <= p99
    assert int(cells(out, "IVF-PQ48 np16")[2]) < 1536 / 5
    today = cells(out, "sentence index, exact")
    assert today[-1] == "1.000"
    assert today[1] == str(round(1536 * 10_044 / 2000))
    for label in (
        "sentence index, HNSW32 ef128",
        "rescore top 20, float32 vectors",
        "rescore top 100, float16 vectors",
    ):
        assert 0.5 <= float(cells(out, label)[-1]) <= 1.0
    # Rescoring keeps at least what sentence scoring adds over passages alone, in half the
    # memory with float16 vectors.
    alone = float(cells(out, "passages only")[-1])
    assert float(cells(out, "rescore top 100, float32 vectors")[-1]) >= alone
    assert 2 * int(cells(out, "rescore top 20, float16 vectors")[1]) == pytest.approx(
        int(today[1]), abs=2
    )
    assert "peak memory" in out


def test_postgres_rows_come_from_the_store_on_a_throwaway_server() -> None:
    # 1,000 passages: the store keeps an exact scan up to 100,000 (HNSW above), so its rows
    # here are exact; the sizes, memory and latency columns are the same code at any size.
    args = ["--sizes", "1000", "--kinds", "", "--postgres", "--queries", "10"]
    result = run_module("bench.capacity", *args, "--sentence-passages", "0", "--markdown", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "PostgreSQL store, 1,000 passages x 384 dims, 10 queries, k=10, one client" in out
    assert "maintenance_work_mem 6GB, 2 maintenance workers" in out
    row = cells(out, "exact scan")
    # row[2], the publication, is ~0.0 s here: no index to build at this size.
    load_s, p50, p95, recall = (float(cell) for cell in (row[1], *row[3:6]))
    assert load_s > 0
    assert 0 < p50 <= p95
    assert recall == 1.0  # the store's exact scan finds the numpy scan's top 10
    table, hnsw, sentences, rss, pss = (int(cell) for cell in row[6:])
    # A passage row holds its 384 float32 (1,536 B + header), its chunk JSON and tsvector;
    # its one sentence row the same vector.
    assert table > 1536
    assert sentences > 1536
    assert hnsw == 0
    assert rss >= pss > 0
    assert "HNSW32" not in out  # no FAISS table with --kinds ""


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--sizes", "10"], ["--sizes", "at least 1000", "'10'"]),
        (["--sizes", "100000,abc"], ["--sizes", "'abc'"]),
        (["--kinds", "flat,annoy"], ["--kinds", "unknown index type 'annoy'"]),
        (["--queries", "0"], ["--queries", "at least 10"]),
        (["--threads", "0"], ["--threads", "at least 1"]),
        (["--ef-search", "5"], ["--ef-search", "at least 10"]),
    ],
)
def test_bad_arguments_are_one_line(args: list[str], fragments: list[str], tmp_path: Path) -> None:
    result = run_module("bench.capacity", *args, cwd=tmp_path)
    assert_one_error_line(result, *fragments, status=2)
