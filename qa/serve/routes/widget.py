"""The demo page (`/`) and the embeddable widget's script (`/widget.js`), from `qa/serve/static/`.

Neither is in the API schema, behind a key or rate-limited. The page's Content-Security-Policy
(`PAGE_POLICY`) allows only its own script and style sheets; `qa.serve.app` gives it to the
`SecurityHeaders` middleware.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from qa.serve.http_hygiene import StaticFile, answer_head, demo_page_policy

router = APIRouter()


def static_text(name: str) -> str:
    return files("qa.serve").joinpath("static", name).read_text(encoding="utf-8")


PAGE_POLICY = demo_page_policy(static_text("index.html"), static_text("widget.js"))
WIDGET_FILE = StaticFile.of(static_text("widget.js"), "application/javascript")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def demo_page() -> HTMLResponse:
    return HTMLResponse(static_text("index.html"))


@router.get("/widget.js", include_in_schema=False)
async def widget(request: Request) -> Response:
    return WIDGET_FILE.response(request)


answer_head(router)
