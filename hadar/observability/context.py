"""Who the current request acts for, once the pipeline has authenticated it.

The access middleware puts an empty `Caller` in the ASGI scope (and in a context variable, so
every log line of the request can name the tenant); the request pipeline fills it with
`annotate` right after admission.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

SCOPE_KEY = "hadar.caller"


@dataclass
class Caller:
    tenant_id: str | None = None
    key_id: str | None = None


_current: ContextVar[Caller | None] = ContextVar("hadar_caller", default=None)


@contextlib.contextmanager
def request_caller(scope: MutableMapping[str, Any]) -> Iterator[Caller]:
    """A fresh, anonymous Caller for the request `scope`, current for logs while it runs."""
    caller = Caller()
    scope[SCOPE_KEY] = caller
    token = _current.set(caller)
    try:
        yield caller
    finally:
        _current.reset(token)


def annotate(scope: MutableMapping[str, Any], *, tenant_id: str | None, key_id: str | None) -> None:
    """Record the authenticated tenant and key of the request `scope` for its log line."""
    caller = scope.get(SCOPE_KEY)
    if isinstance(caller, Caller):
        caller.tenant_id, caller.key_id = tenant_id, key_id


def current_caller() -> Caller | None:
    return _current.get()
