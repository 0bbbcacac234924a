"""Typed settings, read once from the environment (12-factor; every value has a default)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_DATABASE_URL = "sqlite://./hadar.db"
SECRET_FILE = Path(".hadar-secret")


def _secret_from_file(path: Path) -> str:
    """Generate the secret once into `path` (mode 0600) and reuse it afterwards."""
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    staged = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    try:
        os.link(staged, path)  # atomic and exclusive: the file appears whole or not at all
    except FileExistsError:  # another process got there first: use theirs
        value = path.read_text().strip()
    finally:
        staged.unlink()
    return value


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    secret_key: str = field(default="", repr=False)
    webhook_backoff_scale: float = 1.0
    allow_private_webhook_urls: bool = False
    max_body_bytes: int = 1_048_576
    key_ttl_days: int = 90
    # Where providers reach Hadar, and the providers' own base URLs (SPEC 1, 9).
    public_url: str = "http://127.0.0.1:8000"
    meta_graph_url: str = "https://graph.facebook.com"
    meta_graph_version: str = "v23.0"
    meta_app_secret: str | None = field(default=None, repr=False)
    meta_verify_token: str | None = field(default=None, repr=False)
    ultramsg_url: str = "https://api.ultramsg.com"
    stripe_url: str = "https://api.stripe.com"
    vapi_url: str = "https://api.vapi.ai"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Build settings from `env` (default: the process environment)."""
        env = dict(os.environ if env is None else env)
        secret = env.get("HADAR_SECRET_KEY") or _secret_from_file(SECRET_FILE)
        return cls(
            database_url=env.get("HADAR_DATABASE_URL") or DEFAULT_DATABASE_URL,
            redis_url=env.get("HADAR_REDIS_URL") or None,
            secret_key=secret,
            webhook_backoff_scale=float(env.get("HADAR_WEBHOOK_BACKOFF_SCALE") or 1.0),
            allow_private_webhook_urls=_flag(env.get("HADAR_ALLOW_PRIVATE_WEBHOOK_URLS")),
            **_provider_settings(env),
        )


def _provider_settings(env: dict[str, str]) -> dict[str, Any]:
    """HADAR_PUBLIC_URL and the provider settings of SPEC 1, where set (defaults otherwise)."""
    names = {
        "public_url": "HADAR_PUBLIC_URL",
        "meta_graph_url": "HADAR_META_GRAPH_URL",
        "meta_graph_version": "HADAR_META_GRAPH_VERSION",
        "meta_app_secret": "HADAR_META_APP_SECRET",
        "meta_verify_token": "HADAR_META_VERIFY_TOKEN",
        "ultramsg_url": "HADAR_ULTRAMSG_URL",
        "stripe_url": "HADAR_STRIPE_URL",
        "vapi_url": "HADAR_VAPI_URL",
    }
    return {attr: env[var] for attr, var in names.items() if env.get(var)}
