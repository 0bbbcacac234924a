"""GraphQL twins of the conversation, message, template and WhatsApp send routes; a
conversation's messages and a lead's conversations resolve through batched loaders."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from hadar.domain.conversations import CONVERSATIONS, MESSAGES
from hadar.domain.conversations import Conversation as ConversationRow
from hadar.domain.conversations import Message as MessageRow
from hadar.domain.templates import TEMPLATES
from hadar.domain.templates import Template as TemplateRow
from hadar.graphql.context import Context
from hadar.graphql.derive import as_body, input_type, object_type
from hadar.graphql.types import Connection, Node, NodeKind, mutation, query
from hadar.pagination import MAX_LIMIT
from hadar.services import conversations as service
from hadar.services import inbound, templates, whatsapp

Message = object_type(service.MessageOut, interfaces=(Node,))


def message_of(row: MessageRow) -> Any:
    return Message.from_dict(service.present_message(row))  # type: ignore[attr-defined]


async def _messages(root: Any, info: Info[Context, None]) -> list[Message]:  # type: ignore[valid-type]
    rows = await info.context.loaders.children(
        MessageRow, "conversation_id", order="id", per_parent=MAX_LIMIT
    ).load(str(root.id))
    return [message_of(row) for row in rows]


Conversation = object_type(
    service.ConversationOut,
    interfaces=(Node,),
    relations={
        "messages": strawberry.field(
            resolver=_messages,
            description="The first 100 messages, oldest first (page with conversationMessages).",
        )
    },
)
WhatsAppTemplate = object_type(templates.TemplateOut, interfaces=(Node,), name="WhatsAppTemplate")
MessageSendInput = input_type(whatsapp.MessageSend, "WhatsAppMessageInput")
TemplateCreateInput = input_type(templates.TemplateCreate, "WhatsAppTemplateInput")
InboundSimulationInput = input_type(inbound.InboundSimulation, "WhatsAppInboundSimulationInput")


def conversation_of(row: ConversationRow) -> Any:
    return Conversation.from_dict(service.present_conversation(row))  # type: ignore[attr-defined]


def template_of(row: TemplateRow) -> Any:
    return WhatsAppTemplate.from_dict(templates.present_template(row))  # type: ignore[attr-defined]


async def lead_conversations(root: Any, info: Info[Context, None]) -> list[Conversation]:  # type: ignore[valid-type]
    """A lead's conversations, newest first (batched across a page of leads)."""
    rows = await info.context.loaders.children(ConversationRow, "lead_id").load(str(root.id))
    return [conversation_of(row) for row in rows]


@strawberry.type
class Query:
    @query(service.LIST, "Conversations, newest first (REST: GET /api/v1/conversations).")
    async def conversations(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        lead_id: strawberry.ID | None = None,
        channel: str | None = None,
        window_open: bool | None = None,
    ) -> Connection[Conversation]:  # type: ignore[valid-type]
        page = await service.list_conversations(
            scope=info.context.scope,
            limit=first,
            cursor=after,
            lead_id=str(lead_id) if lead_id is not None else None,
            channel=channel,
            window_open=window_open,
        )
        return Connection.of(page, conversation_of, after=after)

    @query(service.RETRIEVE, "One conversation (REST: GET /api/v1/conversations/{id}).")
    async def conversation(self, info: Info[Context, None], id: strawberry.ID) -> Conversation:  # type: ignore[valid-type]
        return await find_conversation(info.context, str(id))

    @query(
        service.LIST_MESSAGES,
        "A conversation's messages, oldest first (REST: GET /api/v1/conversations/{id}/messages).",
    )
    async def conversation_messages(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Message]:  # type: ignore[valid-type]
        page = await service.list_messages(
            scope=info.context.scope, conversation_id=str(id), limit=first, cursor=after
        )
        return Connection.of(page, message_of, after=after)

    @query(service.RETRIEVE_MESSAGE, "One message (REST: GET /api/v1/messages/{id}).")
    async def message(self, info: Info[Context, None], id: strawberry.ID) -> Message:  # type: ignore[valid-type]
        return await find_message(info.context, str(id))

    @query(templates.LIST, "WhatsApp templates (REST: GET /api/v1/whatsapp/templates).")
    async def whatsapp_templates(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[WhatsAppTemplate]:  # type: ignore[valid-type]
        page = await templates.list_templates(scope=info.context.scope, limit=first, cursor=after)
        return Connection.of(page, template_of, after=after)


@strawberry.type
class Mutation:
    @mutation(whatsapp.SEND, "Send a WhatsApp message (REST: POST /api/v1/whatsapp/messages).")
    async def send_whatsapp_message(
        self, info: Info[Context, None], input: MessageSendInput
    ) -> Message:  # type: ignore[valid-type]
        row = await whatsapp.send_message(scope=info.context.scope, data=as_body(input))
        return message_of(row)

    @mutation(
        service.MARK_READ,
        "Mark a conversation read: unreadCount 0 (REST: POST /api/v1/conversations/{id}/read).",
    )
    async def mark_conversation_read(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> Conversation:  # type: ignore[valid-type]
        row = await service.mark_read(scope=info.context.scope, conversation_id=str(id))
        return conversation_of(row)

    @mutation(
        templates.CREATE, "Add a WhatsApp template (admin; REST: POST /api/v1/whatsapp/templates)."
    )
    async def create_whatsapp_template(
        self, info: Info[Context, None], input: TemplateCreateInput
    ) -> WhatsAppTemplate:  # type: ignore[valid-type]
        row = await templates.create_template(scope=info.context.scope, data=as_body(input))
        return template_of(row)

    @mutation(
        inbound.SIMULATE,
        "Simulate an inbound WhatsApp message (test keys; REST: POST "
        "/api/v1/test_helpers/whatsapp/inbound).",
    )
    async def simulate_whatsapp_inbound(
        self, info: Info[Context, None], input: InboundSimulationInput
    ) -> Message:  # type: ignore[valid-type]
        row = await inbound.simulate(scope=info.context.scope, data=as_body(input))
        return message_of(row)


async def find_conversation(context: Context, conversation_id: str) -> Any:
    """One conversation by id in the caller's sandbox (NotFound otherwise)."""
    scope = context.scope
    return conversation_of(
        await service.get_conversation(scope=scope, conversation_id=conversation_id)
    )


async def find_message(context: Context, message_id: str) -> Any:
    """One message by id in the caller's sandbox (NotFound otherwise)."""
    return message_of(await service.get_message(scope=context.scope, message_id=message_id))


async def find_template(context: Context, template_id: str) -> Any:
    """One WhatsApp template by id in the caller's sandbox (NotFound otherwise)."""
    return template_of(await templates.get_template(scope=context.scope, template_id=template_id))


NODES = (
    NodeKind("conv", Conversation, CONVERSATIONS, find_conversation),
    NodeKind("msg", Message, MESSAGES, find_message),
    NodeKind("tpl", WhatsAppTemplate, TEMPLATES, find_template),
)
