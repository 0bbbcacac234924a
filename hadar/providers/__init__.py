"""The provider layer: what Hadar sends to Meta, UltraMsg, Vapi and Stripe, and what they send back.

    ports.py        Protocols, result dataclasses and the one ProviderError (no httpx: services
                    import it)
    http.py         the one shared httpx client and the request helper every adapter uses
    meta.py, ultramsg.py, vapi.py, stripe.py
                    the adapters, each built from that client, a base URL and a tenant's
                    credentials
    sandbox.py      what test keys use instead: same ports, no socket
    breaker.py      a circuit breaker per (tenant, provider), in process
    signatures.py   inbound authentication (Meta, Stripe, Vapi), pure and constant time
    inbound/        pure parsers of inbound payloads into dataclasses

Only `app.py` (the bootstrap) picks a concrete adapter; services see the ports.
"""
