"""The dashboard's web application: the single page, its JSON endpoints, and what
keeps it safe to open (a token where one is set, headers that forbid inline script,
GET only).

Why Starlette + uvicorn: a small, well-kept ASGI toolkit and server with no
template engine or ORM of their own (adrs has both), JSON and static files built
in, and a test client; the page polls small JSON endpoints every 2 s rather than
holding a server-sent-events stream per tab, which keeps the server stateless
(like optuna-dashboard over its storage) and a slow reader harmless.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from adrs.dashboard import views
from adrs.dashboard.catalog import Catalog
from adrs.errors import UserError

STATIC = Path(__file__).parent / "static"
HEADERS = {  # nothing the page shows can run: no inline script, no foreign origin
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "frame-ancestors 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store"}
COOKIE = "adrs_token"


class Guard:
    """ASGI middleware: the security headers on every response; with a token, every
    request must carry it (?token=..., then a cookie the page keeps)."""

    def __init__(self, app, token: str | None):
        self.app, self.token = app, token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        given = request.query_params.get("token") or request.cookies.get(COOKIE) or ""
        if self.token and not hmac.compare_digest(given, self.token):
            return await _with_headers(Response("a token is needed: open the address "
                                                "`adrs dashboard` printed", 401,
                                                media_type="text/plain"))(scope, receive, send)
        if request.method not in ("GET", "HEAD"):
            return await _with_headers(Response("read-only", 405))(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]
                if self.token and request.query_params.get("token"):
                    headers.append((b"set-cookie", f"{COOKIE}={self.token}; HttpOnly; "
                                    "SameSite=Strict; Path=/".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _with_headers(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def make_app(catalog: Catalog, token: str | None = None) -> Starlette:
    """The application over `catalog`'s runs."""

    def run_or_404(name: str):
        v = catalog.run(name)
        if v is None:
            raise _NotFound(f"no run {name!r}")
        return v

    async def page(request):
        return FileResponse(STATIC / "index.html")

    async def runs(request):
        return JSONResponse([views.run_row(v) for v in catalog.runs()])

    async def run(request):
        return JSONResponse(views.run_detail(run_or_404(request.path_params["name"])))

    async def candidate(request):
        v = run_or_404(request.path_params["name"])
        try:
            return JSONResponse(views.candidate(v, request.path_params["id"]))
        except UserError as exc:
            raise _NotFound(str(exc)) from None

    async def compare(request):
        names = [n for n in request.query_params.get("runs", "").split(",") if n]
        return JSONResponse(views.curves([run_or_404(n) for n in names]))

    async def not_found(request, exc):
        return JSONResponse({"error": str(exc)}, 404)

    routes = [Route("/", page), Route("/api/runs", runs), Route("/api/runs/{name}", run),
              Route("/api/runs/{name}/candidates/{id:int}", candidate),
              Route("/api/compare", compare),
              Mount("/static", StaticFiles(directory=STATIC), name="static")]
    return Starlette(routes=routes, middleware=[Middleware(Guard, token=token)],
                     exception_handlers={_NotFound: not_found})


class _NotFound(Exception):
    pass
