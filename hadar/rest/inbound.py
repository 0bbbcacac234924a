"""Provider webhooks: Meta's subscription handshake and signed POSTs, UltraMsg's token URL.

No API key and no per-address limit here (providers send every tenant's traffic from a few
addresses): each POST is authenticated on its raw bytes by the service, then metered per
integration (10,000 a minute).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from hadar.errors import Forbidden, HadarError, RateLimited
from hadar.platform import pipeline
from hadar.platform.runtime import Runtime
from hadar.rest.envelope import data_body, error_response, json_response
from hadar.services import provider_inbound
from hadar.services.provider_inbound import Receipt

PER_INTEGRATION = 10_000  # inbound requests a minute for one integration (SPEC 9)


async def meter_inbound(
    runtime: Runtime, integration_id: str, *, fail_closed: bool = False
) -> dict[str, str]:
    """Count one provider POST against its integration's budget (every provider webhook:
    WhatsApp, Vapi, Stripe); RateLimited past it, else the rate-limit headers to answer with."""
    verdict = await runtime.guard.meter(
        f"inbound:{integration_id}", PER_INTEGRATION, fail_closed=fail_closed
    )
    if not verdict.allowed:
        raise RateLimited(
            f"more than {PER_INTEGRATION} inbound requests a minute for this integration; "
            f"retry after {verdict.retry_after} s",
            headers=verdict.headers(),
        )
    return verdict.headers()


def _meter(runtime: Runtime) -> provider_inbound.Meter:
    async def meter(integration_id: str) -> None:
        await meter_inbound(runtime, integration_id)

    return meter


async def raw_body(request: Request, runtime: Runtime) -> bytes:
    """The provider's POST body as sent (signatures are over these bytes), within the limit."""
    return await pipeline.read_limited(
        request.stream(), request.headers.get("content-length"), runtime.settings.max_body_bytes
    )


def _answer(receipt: Receipt) -> Response:
    body = {"messages": receipt.messages, "statuses": receipt.statuses, "ignored": receipt.ignored}
    return json_response(200, data_body(body))


async def meta_challenge(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    params = request.query_params
    echoed = provider_inbound.verify_challenge(
        mode=params.get("hub.mode"),
        token=params.get("hub.verify_token"),
        challenge=params.get("hub.challenge"),
        expected=runtime.settings.meta_verify_token,
    )
    if echoed is None:
        return error_response(Forbidden("hub.verify_token does not match"))
    return PlainTextResponse(echoed)


async def meta_post(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    try:
        receipt = await provider_inbound.meta_webhook(
            raw_body=await raw_body(request, runtime),
            signature=request.headers.get("x-hub-signature-256"),
            app_secret=runtime.settings.meta_app_secret,
            meter=_meter(runtime),
        )
    except HadarError as err:
        return error_response(err, err.headers)
    return _answer(receipt)


async def ultramsg_post(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    try:
        receipt = await provider_inbound.ultramsg_webhook(
            integration_id=request.path_params["integration_id"],
            token=request.query_params.get("token"),
            raw_body=await raw_body(request, runtime),
            meter=_meter(runtime),
        )
    except HadarError as err:
        return error_response(err, err.headers)
    return _answer(receipt)


INBOUND = [
    Route("/whatsapp/inbound/meta", meta_challenge, methods=["GET"]),
    Route("/whatsapp/inbound/meta", meta_post, methods=["POST"]),
    Route("/whatsapp/inbound/ultramsg/{integration_id}", ultramsg_post, methods=["POST"]),
]
