"""Who is acting (the tenant, environment, role and key behind a request) and what each
operation may be done by: the role rules every surface and every replay obey."""

from __future__ import annotations

from dataclasses import dataclass

from hadar.errors import Forbidden

AGENTS = frozenset({"admin", "agent"})  # who writes the agency's working objects (SPEC: roles)
ADMINS = frozenset({"admin"})


@dataclass(frozen=True)
class Resource:
    """What a role may do with one kind of object, declared once beside its model: every
    Operation on it, every read and every replay obeys these rules on every surface."""

    name: str  # "leads": how refusals name it
    writers: frozenset[str] = ADMINS  # roles that may change it
    admin_reads: bool = False  # reads refused to every role but admin
    # Refused with 503 while the shared store (Redis) is unreachable (SPEC 5, 9): a limit that
    # cannot be checked must not let a key mint keys, connect providers or move money.
    fail_closed: bool = False


@dataclass(frozen=True)
class Scope:
    tenant_id: str
    environment: str
    role: str
    key_id: str | None = None
    rate_limit: int = 60
    trace_id: str | None = None  # the request's trace id, recorded with what it changes
    allowed_ips: tuple[str, ...] = ()  # the key's IP allow-list (CIDRs); empty: any address

    def require_write(self, resource: Resource) -> None:
        """Raise Forbidden unless this role may change `resource`."""
        if self.role not in resource.writers:
            raise Forbidden(f"a {self.role} key may not change {resource.name}")

    def require_read(self, resource: Resource) -> None:
        """Raise Forbidden unless this role may read `resource`."""
        if resource.admin_reads and self.role != "admin":
            raise Forbidden(f"a {self.role} key may not read {resource.name}")


@dataclass(frozen=True)
class Operation:
    """One use case as every surface declares it: a REST route and its GraphQL twin name the
    same Operation, so both are admitted, metered, made idempotent and role-checked alike."""

    name: str  # "leads.create": unique; the parity test pairs REST routes and GraphQL fields on it
    resource: Resource  # whose role rules apply and whether it fails closed
    mutation: bool = False  # changes state: idempotent, transactional
    shown_once: tuple[str, ...] = ()  # answer fields never stored (a replay shows them as null)

    @property
    def fail_closed(self) -> bool:
        return self.resource.fail_closed

    def permit(self, scope: Scope) -> None:
        """Forbidden unless `scope` may perform this operation (checked before any replay)."""
        if self.mutation:
            scope.require_write(self.resource)
        else:
            scope.require_read(self.resource)
