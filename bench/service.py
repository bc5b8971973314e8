"""`qa serve` as a process for the benchmarks: start it until ready, load it, read its metrics,
its memory and its CPU time, wait until it is idle (`bench.serving`, `bench.ceiling`,
`bench.loadtest`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from prometheus_client.parser import text_string_to_metric_families

from bench.loadgen import LoadSpec
from qa.errors import QAError
from qa.settings import Settings, load_settings

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

try:
    import httpx
except ModuleNotFoundError as missing:  # the bench extra
    raise SystemExit(
        f"the benchmarks need the bench extra: pip install -e '.[bench]' "
        f"({missing.name} is not installed)"
    ) from None

READY_TIMEOUT_S = 180.0
# Waiting for the searches a load run left admitted: a wrk timeout plus a search deadline.
IDLE_TIMEOUT_S = 30.0
PROBE_INTERVAL_S = 0.1
IDLE_GAUGES = ("qa_searches_queued", "qa_searches_in_progress")
EVENTS_WRITTEN = "qa_analytics_events_written"
BATCH_SIZE = "qa_embedding_batch_size"

Measured = TypeVar("Measured", bound="DataclassInstance")


def noted(measured: Measured) -> Measured:
    """`measured` (a dataclass), also written to stderr at once: a long run shows what it has
    done so far."""
    print(f"qa bench: {json.dumps(asdict(measured))}", file=sys.stderr, flush=True)
    return measured


def search_load(base: str, bodies: Sequence[str], clients: int, duration_s: int) -> LoadSpec:
    """POST /search of `bodies` in turn by `clients` clients for `duration_s` seconds."""
    return LoadSpec(
        url=f"{base}/search",
        method="POST",
        bodies=bodies,
        headers={"Content-Type": "application/json"},
        duration_s=duration_s,
        connections=clients,
    )


def metric_samples(base: str, family_name: str) -> dict[str, float]:
    """The samples of one metric family of the service at `base`, by sample name."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == family_name
        for sample in family.samples
        if not sample.labels or "le" not in sample.labels
    }


def embedding_calls(base: str) -> tuple[float, float]:
    """Calls to the encoder the service at `base` made for questions so far, and the questions
    they embedded (its `qa_embedding_batch_size` histogram's count and sum)."""
    samples = metric_samples(base, BATCH_SIZE)
    return samples.get(f"{BATCH_SIZE}_count", 0.0), samples.get(f"{BATCH_SIZE}_sum", 0.0)


def searches_admitted(metrics_text: str) -> float:
    """Searches waiting or being computed, read from the service's /metrics text."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics_text)
        if family.name in IDLE_GAUGES
        for sample in family.samples
    )


def events_written(base: str) -> float:
    """Search events the service at `base` has written to its analytics database so far."""
    return metric_samples(base, EVENTS_WRITTEN).get(f"{EVENTS_WRITTEN}_total", 0.0)


def wait_until_idle(base: str, timeout_s: float) -> None:
    """Returns once the service at `base` has no search admitted, or after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            try:
                if searches_admitted(client.get(f"{base}/metrics").text) == 0:
                    return
            except httpx.HTTPError:
                pass  # busy enough not to answer within a second: still not idle
            time.sleep(PROBE_INTERVAL_S)


@contextmanager
def serve_until_ready(
    port: int,
    env: dict[str, str],
    source: Path | None = None,
    settings: Settings | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], float]]:
    """`qa serve` on `port` with `env` added, until `/ready` answers; the seconds it took.
    `source`: the code of that checkout instead (run from there, on `settings`' folders)."""
    if source is not None:
        folders = settings or load_settings({})
        env = env | {
            "PYTHONPATH": str(source.resolve()),
            "QA_INDEX_DIR": str(folders.index_dir.resolve()),
            "QA_CORPUS_DIR": str(folders.corpus_dir.resolve()),
            "QA_MODEL_CACHE_DIR": str(folders.model_cache_dir.resolve()),
        }
    start = time.perf_counter()
    # Its log goes to a file: a pipe nobody reads would fill up with one access line per request
    # and stop the server in the middle of a load run.
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "qa.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=os.environ | {"QA_QUERY_CACHE_SIZE": "0"} | env,
            cwd=source,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            while True:
                if server.poll() is not None:
                    log.seek(0)
                    said = log.read().decode(errors="replace")
                    raise QAError(f"qa serve stopped during start-up: {said.strip()[-300:]}")
                if time.perf_counter() - start > READY_TIMEOUT_S:
                    raise QAError(f"qa serve was not ready within {READY_TIMEOUT_S:.0f} s")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
            yield server, time.perf_counter() - start
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def rss_mb(pid: int, field: str) -> float:
    """A memory figure of /proc/PID/status (VmRSS: now, VmHWM: peak, RssAnon: the process's
    own pages, without mapped files), in MB."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    return round(int(match.group(1)) / 1024, 1) if match else 0.0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
