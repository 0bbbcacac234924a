"""Local fake providers for tests: real HTTP servers on loopback that answer in each provider's
real wire shapes (PROVIDERS.md's fake-provider contracts), record every request, and can be
scripted to fail. See server.py for the mechanics; one module per provider."""

from tests.fakes.meta import FakeMeta
from tests.fakes.server import FakeProvider, Fault, Recorded
from tests.fakes.stripe import FakeStripe
from tests.fakes.ultramsg import FakeUltraMsg
from tests.fakes.vapi import FakeVapi

__all__ = [
    "FakeMeta",
    "FakeProvider",
    "FakeStripe",
    "FakeUltraMsg",
    "FakeVapi",
    "Fault",
    "Recorded",
]
