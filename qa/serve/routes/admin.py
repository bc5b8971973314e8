"""The editors' page (`/admin`) and its script (`/admin.js`), from `qa/serve/static/`: what
readers asked, drawn from `GET /analytics`. The page holds no data: it asks for the admin key
and sends it with each request for the report, which is what the key protects. Like the document
API, it exists only when an admin key is set (404 otherwise). Not in the API schema."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from qa.serve.deps import SettingsDep
from qa.serve.http_hygiene import StaticFile, answer_head, page_policy
from qa.serve.routes.widget import static_text

router = APIRouter()

PAGE_POLICY = page_policy(static_text("admin.html"))
SCRIPT_FILE = StaticFile.of(static_text("admin.js"), "application/javascript")


@router.get("/admin", response_class=HTMLResponse, include_in_schema=False)
def admin_page(settings: SettingsDep) -> HTMLResponse:
    if settings.admin_api_key is None:
        raise HTTPException(404, "Not Found")
    return HTMLResponse(static_text("admin.html"), headers={"Cache-Control": "no-store"})


@router.get("/admin.js", include_in_schema=False)
async def admin_script(request: Request, settings: SettingsDep) -> Response:
    if settings.admin_api_key is None:
        raise HTTPException(404, "Not Found")
    return SCRIPT_FILE.response(request)


answer_head(router)
