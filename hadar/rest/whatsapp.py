"""REST routes for WhatsApp: sends, templates and the inbound test helper."""

from __future__ import annotations

from typing import Any

from hadar.rest.endpoint import Call
from hadar.rest.lists import page_body
from hadar.rest.spec import RouteSpec
from hadar.services import conversations, inbound, templates, whatsapp


async def send(call: Call) -> tuple[int, Any]:
    row = await whatsapp.send_message(scope=call.scope, data=call.body)
    return 201, conversations.present_message(row)


async def list_templates(call: Call) -> tuple[int, Any]:
    page = await templates.list_templates(
        scope=call.scope, **call.query.model_dump(exclude_none=True)
    )
    return 200, page_body(page, templates.present_template)


async def create_template(call: Call) -> tuple[int, Any]:
    row = await templates.create_template(scope=call.scope, data=call.body)
    return 201, templates.present_template(row)


async def simulate_inbound(call: Call) -> tuple[int, Any]:
    row = await inbound.simulate(scope=call.scope, data=call.body)
    return 201, conversations.present_message(row)


TAG = "WhatsApp"
ROUTES = [
    RouteSpec(
        "POST",
        "/whatsapp/messages",
        send,
        whatsapp.SEND,
        "Send a WhatsApp message",
        TAG,
        body=whatsapp.MessageSend,
        response=conversations.MessageOut,
        status=201,
        description="Free-form `text` only within 24 hours of the lead's last message "
        "(else 422 `outside_24h_window`); outside it an approved `template` with exactly its "
        "`variables`. Test keys use a sandbox (`sent`, then `delivered`); live keys the "
        "tenant's WhatsApp integration (409 until one is connected). A provider refusal is "
        "answered with its mapped code and the failed message is kept; a replay of the "
        "Idempotency-Key returns the first answer and never sends again.",
        example=whatsapp.SEND_EXAMPLE,
        errors=("not_found", "outside_24h_window", "do_not_contact", "service_unavailable"),
    ),
    RouteSpec(
        "GET",
        "/whatsapp/templates",
        list_templates,
        templates.LIST,
        "List WhatsApp templates",
        TAG,
        query=templates.TemplateQuery,
        response=templates.TemplateListOut,
        description="Every tenant starts with `viewing_confirmation_en` and "
        "`viewing_confirmation_ar` (approved).",
    ),
    RouteSpec(
        "POST",
        "/whatsapp/templates",
        create_template,
        templates.CREATE,
        "Add a WhatsApp template",
        TAG,
        body=templates.TemplateCreate,
        response=templates.TemplateOut,
        status=201,
        description="Admin. Placeholders are written `{{name}}` in `body`, each listed in "
        "`variables`. Test keys: approved at once. Live keys use the tenant's WhatsApp "
        "integration (409 until one is connected): on Meta the template is submitted to the "
        "WhatsApp Business Account (the integration needs `business_account_id`, else 400 "
        "naming it) with positional placeholders numbered in order of appearance, and stays "
        "`pending` until Meta's review webhook approves or rejects it (Meta may decide at "
        "once, or change the category); on UltraMsg, which has no templates, it is approved at "
        "once. Meta's refusal is answered 400 (409 when Meta already has the name), an outage "
        "503; either way nothing is kept and a replay never submits again.",
        example={
            "name": "price_update_en",
            "language": "en",
            "category": "marketing",
            "body": "Hi {{name}}, {{property}} is now AED {{price}}.",
            "variables": ["name", "property", "price"],
        },
        errors=("service_unavailable",),
    ),
    RouteSpec(
        "POST",
        "/test_helpers/whatsapp/inbound",
        simulate_inbound,
        inbound.SIMULATE,
        "Simulate an inbound WhatsApp message (test keys)",
        TAG,
        body=inbound.InboundSimulation,
        response=conversations.MessageOut,
        status=201,
        description="Test keys only (live: 403). `received_at` (not in the future) places "
        "the message in the past, to test the window's edges.",
        example={"lead_id": "lead_01HMNZ8G7Q3V5X2T4R6Y9W0K1B", "text": "Is it still available?"},
        errors=("not_found",),
    ),
]
