"""The concrete adapter factory `hadar.app` installs: one shared httpx client for every
adapter, each live port wrapped in the circuit breaker of its (tenant, provider).

Test keys arrive here as provider "sandbox" and get a sandbox, which has no client at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast

import httpx

from hadar.providers import breaker, sandbox
from hadar.providers.http import new_client
from hadar.providers.meta import MetaWhatsApp
from hadar.providers.ports import PaymentsPort, ProviderError, VoicePort, WhatsAppPort
from hadar.providers.stripe import StripePayments
from hadar.providers.ultramsg import UltraMsgWhatsApp
from hadar.providers.vapi import VapiVoice
from hadar.settings import Settings

P = TypeVar("P")


class Guarded:
    """A port whose every coroutine method runs through one circuit breaker."""

    def __init__(self, port: Any, circuit: breaker.CircuitBreaker) -> None:
        self._port = port
        self._circuit = circuit
        self.provider = port.provider

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._port, name)

        async def guarded(**kwargs: Any) -> Any:
            return await self._circuit.call(lambda: method(**kwargs))

        return guarded


def _unknown(provider: str) -> ProviderError:
    return ProviderError(
        kind="unavailable", provider=provider, code="unknown_provider", title="Unknown provider."
    )


class ProviderFactory:
    """Adapters over one shared client (opened by the app's lifespan, or on first live use)."""

    def __init__(
        self,
        settings: Settings,
        *,
        breakers: breaker.BreakerRegistry | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._settings = settings
        self._breakers = breakers or breaker.registry
        self._client = client  # None: created on first use (tests pass a short-timeout one)

    @property
    def client(self) -> httpx.AsyncClient:
        """The shared client, created once."""
        if self._client is None or self._client.is_closed:
            self._client = new_client()
        return self._client

    async def aclose(self) -> None:
        """Close the shared client (app shutdown)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _guard(self, port: P, tenant: str, provider: str) -> P:
        circuit = self._breakers.get(tenant=tenant, provider=provider)
        return cast(P, Guarded(port, circuit))

    def whatsapp(
        self,
        *,
        tenant: str,
        provider: str,
        credentials: Mapping[str, str],
        config: Mapping[str, Any],
    ) -> WhatsAppPort:
        """The WhatsApp port of a tenant's Meta or UltraMsg account (or the sandbox)."""
        if provider == sandbox.PROVIDER:
            return sandbox.SandboxWhatsApp()
        port: WhatsAppPort
        if provider == "meta":
            port = MetaWhatsApp(
                self.client,
                base_url=self._settings.meta_graph_url,
                phone_number_id=str(config["phone_number_id"]),
                access_token=credentials["access_token"],
                version=self._settings.meta_graph_version,
                business_account_id=config.get("business_account_id"),
            )
        elif provider == "ultramsg":
            port = UltraMsgWhatsApp(
                self.client,
                base_url=self._settings.ultramsg_url,
                instance_id=str(config["instance_id"]),
                token=credentials["token"],
            )
        else:
            raise _unknown(provider)
        return self._guard(port, tenant, provider)

    def voice(
        self,
        *,
        tenant: str,
        provider: str,
        credentials: Mapping[str, str],
        config: Mapping[str, Any],
    ) -> VoicePort:
        """The voice port of a tenant's Vapi account (or the sandbox)."""
        if provider == sandbox.PROVIDER:
            return sandbox.SandboxVoice()
        if provider != "vapi":
            raise _unknown(provider)
        port = VapiVoice(
            self.client,
            base_url=self._settings.vapi_url,
            api_key=credentials["api_key"],
            phone_number_id=str(config["phone_number_id"]),
            voice_id=config.get("voice_id"),
        )
        return self._guard(cast(VoicePort, port), tenant, provider)

    def payments(
        self,
        *,
        tenant: str,
        provider: str,
        credentials: Mapping[str, str],
        config: Mapping[str, Any],
    ) -> PaymentsPort:
        """The payments port of a tenant's Stripe account (or the sandbox)."""
        if provider == sandbox.PROVIDER:
            return sandbox.SandboxPayments()
        if provider != "stripe":
            raise _unknown(provider)
        port = StripePayments(
            self.client, base_url=self._settings.stripe_url, secret_key=credentials["secret_key"]
        )
        return self._guard(cast(PaymentsPort, port), tenant, provider)
