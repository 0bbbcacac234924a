"""The developer docs: the OpenAPI document and Swagger UI over it (assets served from /static)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hadar.errors import HadarError
from hadar.openapi import render
from hadar.platform import access
from hadar.platform.runtime import Runtime
from hadar.rest.endpoint import client_address
from hadar.rest.envelope import error_response

SWAGGER_HTML = Path(__file__).parent.parent / "static" / "swagger.html"


@cache
def _openapi_bytes() -> bytes:
    return render().encode("utf-8")


@cache
def _swagger_bytes() -> bytes:
    return SWAGGER_HTML.read_bytes()


async def _metered(request: Request, body: bytes, media_type: str) -> Response:
    """Public pages are metered by client address like any unauthenticated request."""
    runtime: Runtime = request.app.state.runtime
    try:
        headers = await access.meter_anonymous(runtime, client_address(request))
    except HadarError as err:
        return error_response(err, err.headers)
    return Response(body, headers=headers, media_type=media_type)


async def openapi_json(request: Request) -> Response:
    return await _metered(request, _openapi_bytes(), "application/json")


async def api_docs(request: Request) -> Response:
    return await _metered(request, _swagger_bytes(), "text/html; charset=utf-8")


def docs_routes() -> list[Route]:
    return [
        Route("/developers/openapi.json", openapi_json, methods=["GET"]),
        Route("/developers/api-docs", api_docs, methods=["GET"]),
    ]
