"""Who is acting: the tenant, environment, role and key behind a request, and what it may do."""

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
    "invoices": {"admin"},
    "api_keys": {"admin"},
    "webhooks": {"admin"},
}
ADMIN_READS = {"api_keys", "webhooks", "audit_events"}


@dataclass(frozen=True)
class Scope:
    tenant_id: str
    environment: str
    role: str
    key_id: str | None = None
    rate_limit: int = 60

    def require_write(self, resource: str) -> None:
        """Raise Forbidden unless this role may change `resource`."""
        if self.role not in WRITERS.get(resource, {"admin"}):
            raise Forbidden(f"a {self.role} key may not change {resource}")

    def require_read(self, resource: str) -> None:
        """Raise Forbidden unless this role may read `resource`."""
        if resource in ADMIN_READS and self.role != "admin":
            raise Forbidden(f"a {self.role} key may not read {resource}")
