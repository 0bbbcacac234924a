"""What operators see: logs (text or JSON, trace ids, redaction), the access log, Sentry and
Prometheus metrics. The request pipeline calls three things:

- `annotate(scope, tenant_id=…, key_id=…)` once the caller is authenticated;
- `report_internal(exc, trace_id)` wherever an exception becomes an `internal_error`;
- `report_breaker_open(tenant, provider)` and `set_breaker_states_provider(fn)` (providers).
"""

from hadar.observability.context import annotate
from hadar.observability.metrics import count_delivery, set_breaker_states_provider
from hadar.observability.sentry import report_breaker_open, report_internal

__all__ = [
    "annotate",
    "count_delivery",
    "report_breaker_open",
    "report_internal",
    "set_breaker_states_provider",
]
