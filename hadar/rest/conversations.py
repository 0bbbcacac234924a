"""REST routes for conversations and messages (reads, and marking a thread read)."""

from __future__ import annotations

from typing import Any

from hadar.rest.endpoint import Call
from hadar.rest.lists import page_body
from hadar.rest.spec import RouteSpec
from hadar.services import conversations


async def list_(call: Call) -> tuple[int, Any]:
    page = await conversations.list_conversations(
        scope=call.scope, **call.query.model_dump(exclude_none=True)
    )
    return 200, page_body(page, conversations.present_conversation)


async def retrieve(call: Call) -> tuple[int, Any]:
    row = await conversations.get_conversation(
        scope=call.scope, conversation_id=call.params["conversation_id"]
    )
    return 200, conversations.present_conversation(row)


async def mark_read(call: Call) -> tuple[int, Any]:
    row = await conversations.mark_read(
        scope=call.scope, conversation_id=call.params["conversation_id"]
    )
    return 200, conversations.present_conversation(row)


async def messages(call: Call) -> tuple[int, Any]:
    page = await conversations.list_messages(
        scope=call.scope,
        conversation_id=call.params["conversation_id"],
        **call.query.model_dump(exclude_none=True),
    )
    return 200, page_body(page, conversations.present_message)


async def message(call: Call) -> tuple[int, Any]:
    row = await conversations.get_message(scope=call.scope, message_id=call.params["message_id"])
    return 200, conversations.present_message(row)


TAG = "Conversations"
ROUTES = [
    RouteSpec(
        "GET",
        "/conversations",
        list_,
        conversations.LIST,
        "List conversations, newest first",
        TAG,
        query=conversations.ConversationQuery,
        response=conversations.ConversationListOut,
        description="One conversation per lead and channel; `window_open` is computed now.",
    ),
    RouteSpec(
        "GET",
        "/conversations/{conversation_id}",
        retrieve,
        conversations.RETRIEVE,
        "Retrieve a conversation",
        TAG,
        response=conversations.ConversationOut,
    ),
    RouteSpec(
        "POST",
        "/conversations/{conversation_id}/read",
        mark_read,
        conversations.MARK_READ,
        "Mark a conversation read",
        TAG,
        response=conversations.ConversationOut,
        description="Agents and admins. Sets `unread_count` to 0; an inbound message arriving "
        "afterwards counts from 1 again. Sending in the conversation does the same.",
    ),
    RouteSpec(
        "GET",
        "/conversations/{conversation_id}/messages",
        messages,
        conversations.LIST_MESSAGES,
        "List a conversation's messages, oldest first",
        TAG,
        query=conversations.MessageQuery,
        response=conversations.MessageListOut,
        description="Oldest first (a thread is read top-down), keyset-paginated.",
    ),
    RouteSpec(
        "GET",
        "/messages/{message_id}",
        message,
        conversations.RETRIEVE_MESSAGE,
        "Retrieve a message",
        TAG,
        response=conversations.MessageOut,
    ),
]
