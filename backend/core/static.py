"""Serving the built browser app: compressed twins when accepted, hashed assets cached forever."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

FRONTEND_DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"
# Vite names every file under assets/ by its content hash, so a URL never changes meaning.
IMMUTABLE = "public, max-age=31536000, immutable"
# The build writes `name.br` and `name.gz` beside each file worth compressing; best first.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))

PLACEHOLDER_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>TinyStudio</title></head><body>
<h1>TinyStudio</h1><p>The API is running. The browser app has not been built yet:
run <code>./tinystudio up</code> from the source tree to build it.</p>
<p>API documentation: <a href="/api/docs">/api/docs</a></p></body></html>"""


def accepted_encodings(header: str) -> set[str]:
    """The content codings an `Accept-Encoding` header allows (those not given q=0)."""
    accepted = set()
    for item in header.lower().split(","):
        name, _, params = item.strip().partition(";")
        quality = params.strip().removeprefix("q=")
        try:
            allowed = not params or float(quality) > 0
        except ValueError:
            allowed = False
        if name.strip() and allowed:
            accepted.add(name.strip())
    return accepted


def file_response(file: Path, *, cache_control: str, accept_encoding: str) -> FileResponse:
    """`file`, or its precompressed twin in the best coding the client accepts."""
    media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    headers = {"Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    accepted = accepted_encodings(accept_encoding)
    for coding, suffix in ENCODINGS:
        twin = file.with_name(file.name + suffix)
        if coding in accepted and twin.is_file():
            headers["Content-Encoding"] = coding
            return FileResponse(twin, media_type=media_type, headers=headers)
    return FileResponse(file, media_type=media_type, headers=headers)


def browser_app_response(path: str, accept_encoding: str, dist: Path) -> Response:
    """The answer to GET /`path` outside the API: a built file, or index.html for app routes."""
    if path.startswith("api/"):
        return JSONResponse(
            status_code=404,
            content={"detail": {"code": "not_found", "message": f"no API route /{path}"}},
        )
    if not dist.is_dir():
        return HTMLResponse(PLACEHOLDER_PAGE, headers={"Cache-Control": "no-cache"})
    root = dist.resolve()
    candidate = (root / path).resolve()
    if not (path and candidate.is_file() and root in candidate.parents):
        # Any other path is a route of the single-page app; index.html must be revalidated so
        # a new build's asset names are picked up.
        return file_response(
            root / "index.html", cache_control="no-cache", accept_encoding=accept_encoding
        )
    hashed = candidate.parent == root / "assets"
    return file_response(
        candidate,
        cache_control=IMMUTABLE if hashed else "no-cache",
        accept_encoding=accept_encoding,
    )


def mount_browser_app(app: FastAPI, dist: Path = FRONTEND_DIST) -> None:
    """Serves the browser app built into `dist` on every path the API does not claim."""

    @app.get("/{path:path}", include_in_schema=False)
    def browser_app(path: str, request: Request) -> Response:
        return browser_app_response(path, request.headers.get("accept-encoding", ""), dist)
