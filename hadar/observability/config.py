"""The operator's three switches, read from the environment.

They belong in `hadar.settings.Settings`; they live here until that file is free to change.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class ObservabilityConfig:
    log_format: str = "text"
    log_level: int = logging.INFO
    sentry_dsn: str | None = field(default=None, repr=False)
    metrics_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ObservabilityConfig:
        """HADAR_LOG_FORMAT (`text`|`json`), HADAR_SENTRY_DSN, HADAR_METRICS_TOKEN."""
        env = os.environ if env is None else env
        fmt = (env.get("HADAR_LOG_FORMAT") or "text").strip().lower()
        if fmt not in LOG_FORMATS:
            raise ValueError(f"HADAR_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
        return cls(
            log_format=fmt,
            sentry_dsn=(env.get("HADAR_SENTRY_DSN") or "").strip() or None,
            metrics_token=(env.get("HADAR_METRICS_TOKEN") or "").strip() or None,
        )
