"""`GET /docs`: the API's Swagger UI, served with its own assets so it works on a network without internet.

FastAPI's own page loads Swagger UI from a CDN; a border post or a closed network has none. The
assets (swagger-ui-dist, pinned in `api/static/docs/package.json`) are vendored in
`api/static/docs/vendor/` and served here; the validator badge, which calls out to swagger.io, is off.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse
from starlette.exceptions import HTTPException

__all__ = ["router", "DOCS", "ASSETS"]

router = APIRouter(include_in_schema=False)
DOCS = "/docs"
VENDOR = Path(__file__).resolve().parents[1] / "static" / "docs" / "vendor"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


@router.get(DOCS)
def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=root + request.app.openapi_url,
        title=f"{request.app.title} API",
        swagger_js_url=f"{root}{DOCS}/assets/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{DOCS}/assets/swagger-ui.css",
        swagger_favicon_url=f"{root}{DOCS}/assets/favicon-32x32.png",
        oauth2_redirect_url=f"{root}{DOCS}/oauth2-redirect",
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(DOCS + "/oauth2-redirect")
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get(DOCS + "/assets/{name}")
def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(404, f"no asset {name!r}; the docs page serves {sorted(ASSETS)}")
    return FileResponse(VENDOR / name, media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"})
