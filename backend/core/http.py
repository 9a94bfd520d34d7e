"""Security headers on every HTTP response: a strict content policy, no framing, no sniffing."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.core.config import Settings, get_settings

# The browser app loads only its own bundle; the virtual board console is a WebSocket.
APP_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self' ws: wss:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# FastAPI's Swagger page loads swagger-ui from a CDN and starts it with an inline script; the page
# shows no user content, so this looser policy is kept to it alone.
DOCS_PATH = "/api/docs"
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = "; ".join(
    [
        "default-src 'self'",
        f"script-src 'self' 'unsafe-inline' {DOCS_CDN}",
        f"style-src 'self' {DOCS_CDN}",
        "img-src 'self' data: https://fastapi.tiangolo.com",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ]
)
COMMON_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    # Boards connect over Web Serial; sound and motion may be recorded in the browser itself.
    "permissions-policy": (
        "serial=(self), microphone=(self), accelerometer=(self), "
        "camera=(), geolocation=(), payment=(), usb=()"
    ),
}


def download_origin(settings: Settings) -> str | None:
    """Where presigned downloads come from, when the API redirects the browser's fetches there."""
    if not settings.blob_presigned_downloads or settings.blob_url is None:
        return None
    endpoint = settings.blob_s3_public_endpoint_url or settings.blob_s3_endpoint_url
    if endpoint is None:
        return "https://*.amazonaws.com"
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def security_headers(path: str) -> dict[str, str]:
    """The headers every response to `path` carries."""
    policy = DOCS_POLICY if path.startswith(DOCS_PATH) else APP_POLICY
    origin = download_origin(get_settings())
    if origin is not None and policy is APP_POLICY:
        policy = policy.replace("connect-src 'self'", f"connect-src 'self' {origin}")
    return {"content-security-policy": policy, **COMMON_HEADERS}


class HttpMiddleware:
    """A pure ASGI middleware that acts on HTTP requests and passes everything else through.

    Pure ASGI rather than Starlette's BaseHTTPMiddleware, so streamed responses stay streamed.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class SecurityHeaders(HttpMiddleware):
    """ASGI middleware adding `security_headers` to each HTTP response that lacks them."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        extra = [(k.encode(), v.encode()) for k, v in security_headers(scope["path"]).items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [(k, v) for k, v in extra if k not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)
