"""What `qa serve` imports before it serves: not the libraries of the article extractors
(trafilatura, pypdf, markdown-it) nor the web client's (httpx, feedparser), which a service
answering searches may never use; each is imported when first needed (`qa.content.extract.choice`,
the app's source syncing). Measured in docs/measurements.md (start-up)."""

from __future__ import annotations

import json
import subprocess
import sys

UNNEEDED = ("trafilatura", "pypdf", "markdown_it", "httpx", "feedparser")


def imported_after(code: str) -> list[str]:
    listed = f"print(json.dumps([m for m in {UNNEEDED!r} if m in sys.modules]))"
    script = f"import json, sys\n{code}\n{listed}"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return list(json.loads(result.stdout))


def test_the_serve_command_and_the_app_import_no_extractor_or_web_client() -> None:
    assert imported_after("import qa.cli.commands, qa.serve.app") == []


def test_an_extractor_is_imported_when_a_file_of_its_kind_is_read() -> None:
    code = (
        "from qa.content.extract import extract\n"
        "extract(b'<html><body><p>' + b'Un article de test. ' * 20 + b'</p></body></html>', "
        "'html')"
    )
    assert imported_after(code) == ["trafilatura"]
