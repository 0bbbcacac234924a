"""The developer docs: the OpenAPI document and Swagger UI over it (assets served from /static)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hadar.openapi.document import render
from hadar.rest.endpoint import public

SWAGGER_HTML = Path(__file__).parent.parent / "static" / "swagger.html"


@cache
def _openapi_bytes() -> bytes:
    return render().encode("utf-8")


@cache
def _swagger_bytes() -> bytes:
    return SWAGGER_HTML.read_bytes()


async def openapi_json(request: Request) -> Response:
    return Response(_openapi_bytes(), media_type="application/json")


async def api_docs(request: Request) -> Response:
    return Response(_swagger_bytes(), media_type="text/html; charset=utf-8")


def docs_routes() -> list[Route]:
    return [
        Route("/developers/openapi.json", public(openapi_json), methods=["GET"]),
        Route("/developers/api-docs", public(api_docs), methods=["GET"]),
    ]
