"""A typed driver around `wrk`, the C HTTP load generator: a load spec in, a result record out.

wrk is given a generated Lua script that sends the spec's method, headers and bodies (in
turn, one per request) and, when done, prints its counters and latency percentiles as one JSON
line, which is parsed here. A load generator in C spends far less CPU per request than a
Python one, so on a small machine the figures are the server's, not the client's.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from qa.errors import QAError

WRK = "wrk"
RESULT_MARK = "QA_LOADGEN_RESULT "
PERCENTILES = (50, 90, 99)


class LoadGeneratorError(QAError):
    """The HTTP load generator (wrk) is missing or failed."""


@dataclass(frozen=True)
class LoadSpec:
    """What to send: `connections` clients, each sending a request as soon as it has the
    previous answer, for `duration_s` seconds."""

    url: str
    method: str = "GET"
    bodies: Sequence[str] = ()  # sent in turn; none: requests without a body
    headers: Mapping[str, str] = field(default_factory=dict)
    connections: int = 1
    duration_s: int = 5
    timeout_s: int = 10  # a request waiting longer counts as a timeout error
    threads: int = 1  # wrk's own threads; one keeps up with thousands of requests a second


@dataclass(frozen=True)
class LoadResult:
    """What wrk measured. Latencies are of completed requests, in milliseconds."""

    connections: int
    duration_s: float
    requests: int
    throughput: float  # completed requests per second
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]  # by kind: connect, read, write, timeout, status (not 2xx or 3xx)
    statuses: dict[int, int] = field(default_factory=dict)  # responses by HTTP status

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def wrk_path() -> str:
    """The wrk executable, or LoadGeneratorError saying how to install it."""
    path = shutil.which(WRK)
    if path is None:
        raise LoadGeneratorError(
            "wrk is not installed: `sudo apt-get install wrk` (or `make bench`, which does it)"
        )
    return path


def lua_string(text: str) -> str:
    """`text` as a Lua string literal: printable ASCII as is, every other byte escaped."""
    escaped = "".join(
        chr(byte) if 32 <= byte < 127 and byte not in b'"\\' else f"\\{byte:03d}"
        for byte in text.encode("utf-8")
    )
    return f'"{escaped}"'


def lua_script(spec: LoadSpec) -> str:
    """The wrk script sending `spec`'s requests and printing the result as JSON."""
    headers = "\n".join(
        f"wrk.headers[{lua_string(name)}] = {lua_string(value)}"
        for name, value in spec.headers.items()
    )
    bodies = ",\n".join(f"  {lua_string(body)}" for body in spec.bodies)
    percentiles = ", ".join(
        f'"\\"p{p}\\": ", latency:percentile({p}) / 1000, ", "' for p in PERCENTILES
    )
    return f"""
wrk.method = {lua_string(spec.method)}
{headers}
local bodies = {{
{bodies}
}}
local next_body = 0
local threads = {{}}
statuses = {{}}

function setup(thread)
  thread:set("offset", next_body)
  next_body = next_body + 1
  table.insert(threads, thread)
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function init(args)
  next_body = offset or 0
end

request = function()
  if #bodies == 0 then
    return wrk.format()
  end
  next_body = next_body % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[next_body])
end

done = function(summary, latency, requests)
  local e = summary.errors
  local counts = {{}}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  local by_status = {{}}
  for status, count in pairs(counts) do
    table.insert(by_status, "\\"" .. status .. "\\": " .. count)
  end
  io.write({lua_string(RESULT_MARK)}, "{{",
    "\\"requests\\": ", summary.requests, ", ",
    "\\"duration_us\\": ", summary.duration, ", ",
    {percentiles},
    "\\"max\\": ", latency.max / 1000, ", ",
    "\\"errors\\": {{\\"connect\\": ", e.connect, ", \\"read\\": ", e.read,
    ", \\"write\\": ", e.write, ", \\"status\\": ", e.status,
    ", \\"timeout\\": ", e.timeout, "}}, ",
    "\\"statuses\\": {{", table.concat(by_status, ", "), "}}}}\\n")
end
"""


def run_load(spec: LoadSpec) -> LoadResult:
    """Run wrk with `spec`; LoadGeneratorError if it cannot run or reports nothing."""
    executable = wrk_path()
    with tempfile.TemporaryDirectory(prefix="qa-loadgen-") as folder:
        script = Path(folder) / "requests.lua"
        script.write_text(lua_script(spec), encoding="utf-8")
        command = [
            executable,
            f"--threads={min(spec.threads, spec.connections)}",
            f"--connections={spec.connections}",
            f"--duration={spec.duration_s}s",
            f"--timeout={spec.timeout_s}s",
            f"--script={script}",
            spec.url,
        ]
        try:
            finished = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=spec.duration_s + spec.timeout_s + 30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise LoadGeneratorError(f"wrk did not run: {error}") from error
    lines = [line for line in finished.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if finished.returncode != 0 or not lines:
        said = " ".join((finished.stderr or finished.stdout).split())[:300]
        raise LoadGeneratorError(f"wrk failed (exit {finished.returncode}): {said}")
    return _result(spec, lines[-1].removeprefix(RESULT_MARK))


class _WrkReport(BaseModel):
    """The JSON line the script's `done` prints (latencies in milliseconds)."""

    requests: int
    duration_us: float
    p50: float
    p90: float
    p99: float
    max: float
    errors: dict[str, int]
    statuses: dict[int, int]


def _result(spec: LoadSpec, line: str) -> LoadResult:
    try:
        report = _WrkReport.model_validate_json(line)
    except ValidationError as error:
        raise LoadGeneratorError(f"unreadable wrk report {line!r}") from error
    duration_s = report.duration_us / 1e6
    return LoadResult(
        connections=spec.connections,
        duration_s=round(duration_s, 3),
        requests=report.requests,
        throughput=round(report.requests / duration_s, 1) if duration_s > 0 else 0.0,
        p50_ms=round(report.p50, 2),
        p90_ms=round(report.p90, 2),
        p99_ms=round(report.p99, 2),
        max_ms=round(report.max, 2),
        errors=report.errors,
        statuses=report.statuses,
    )
