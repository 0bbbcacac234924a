"""Who is acting (the tenant, environment, role and key behind a request) and what each
operation may be done by: the role rules every surface and every replay obey."""

from __future__ import annotations

from dataclasses import dataclass

from hadar.errors import Forbidden

# resource -> roles that may write it; reads are open to every role unless listed in ADMIN_READS.
WRITERS = {
    "leads": {"admin", "agent"},
    "conversations": {"admin", "agent"},
    "messages": {"admin", "agent"},
    "properties": {"admin", "agent"},
    "bookings": {"admin", "agent"},
    "calls": {"admin", "agent"},
    "invoices": {"admin"},
    "integrations": {"admin"},
    "templates": {"admin"},
    "api_keys": {"admin"},
    "webhooks": {"admin"},
}
ADMIN_READS = {"api_keys", "webhooks", "audit_events", "integrations"}
# Resources whose routes refuse with 503 while the shared store (Redis) is unreachable (SPEC 5, 9).
FAIL_CLOSED = frozenset({"api_keys", "invoices", "integrations"})


@dataclass(frozen=True)
class Scope:
    tenant_id: str
    environment: str
    role: str
    key_id: str | None = None
    rate_limit: int = 60
    trace_id: str | None = None  # the request's trace id, recorded with what it changes
    allowed_ips: tuple[str, ...] = ()  # the key's IP allow-list (CIDRs); empty: any address

    def require_write(self, resource: str) -> None:
        """Raise Forbidden unless this role may change `resource`."""
        if self.role not in WRITERS.get(resource, {"admin"}):
            raise Forbidden(f"a {self.role} key may not change {resource}")

    def require_read(self, resource: str) -> None:
        """Raise Forbidden unless this role may read `resource`."""
        if resource in ADMIN_READS and self.role != "admin":
            raise Forbidden(f"a {self.role} key may not read {resource}")


@dataclass(frozen=True)
class Operation:
    """One use case as every surface declares it: a REST route and its GraphQL twin name the
    same Operation, so both are admitted, metered, made idempotent and role-checked alike."""

    name: str  # "leads.create": unique; the parity test pairs REST routes and GraphQL fields on it
    resource: str  # whose role rules apply (WRITERS, ADMIN_READS) and whether it fails closed
    mutation: bool = False  # changes state: idempotent, transactional
    shown_once: tuple[str, ...] = ()  # answer fields never stored (a replay shows them as null)

    @property
    def fail_closed(self) -> bool:
        return self.resource in FAIL_CLOSED

    def permit(self, scope: Scope) -> None:
        """Forbidden unless `scope` may perform this operation (checked before any replay)."""
        if self.mutation:
            scope.require_write(self.resource)
        else:
            scope.require_read(self.resource)
