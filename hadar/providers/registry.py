"""Where services find provider adapters without importing one.

The services see only the ports (hadar.providers.ports); `hadar.app` installs the concrete
factory (hadar.providers.factory, over the one shared httpx client and the circuit breakers)
with `install()`, as `hadar.secretbox.configure` installs the key box. Before any install,
only the sandboxes exist: nothing can reach a provider by accident.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from hadar.providers import sandbox
from hadar.providers.ports import PaymentsPort, ProviderError, VoicePort, WhatsAppPort


class AdapterFactory(Protocol):
    """Builds the port for one tenant's connected account (`provider` "sandbox": the sandbox)."""

    def whatsapp(
        self,
        *,
        tenant: str,
        provider: str,
        credentials: Mapping[str, str],
        config: Mapping[str, Any],
    ) -> WhatsAppPort: ...

    def voice(
        self,
        *,
        tenant: str,
        provider: str,
        credentials: Mapping[str, str],
        config: Mapping[str, Any],
    ) -> VoicePort: ...

    def payments(
        self,
        *,
        tenant: str,
        provider: str,
        credentials: Mapping[str, str],
        config: Mapping[str, Any],
    ) -> PaymentsPort: ...


def _refuse(provider: str) -> ProviderError:
    return ProviderError(
        kind="unavailable",
        provider=provider,
        code="not_configured",
        title="No provider adapters are installed in this process.",
    )


P = TypeVar("P")


def _sandbox(provider: str, make: Callable[[], P]) -> P:
    if provider != sandbox.PROVIDER:
        raise _refuse(provider)
    return make()


class SandboxOnly:
    """The factory before `install()`: sandboxes for test keys, a refusal for anything live."""

    def whatsapp(
        self,
        *,
        tenant: str,
        provider: str,
        credentials: Mapping[str, str],
        config: Mapping[str, Any],
    ) -> WhatsAppPort:
        return _sandbox(provider, sandbox.SandboxWhatsApp)

    def voice(
        self,
        *,
        tenant: str,
        provider: str,
        credentials: Mapping[str, str],
        config: Mapping[str, Any],
    ) -> VoicePort:
        return _sandbox(provider, sandbox.SandboxVoice)

    def payments(
        self,
        *,
        tenant: str,
        provider: str,
        credentials: Mapping[str, str],
        config: Mapping[str, Any],
    ) -> PaymentsPort:
        return _sandbox(provider, sandbox.SandboxPayments)


_factory: AdapterFactory = SandboxOnly()


def install(factory: AdapterFactory) -> AdapterFactory:
    """Make `factory` the process's adapter factory; returns the previous one (tests restore it)."""
    global _factory
    previous, _factory = _factory, factory
    return previous


def current() -> AdapterFactory:
    """The installed adapter factory."""
    return _factory
