"""Cross-cutting pieces: tokens and auth, tracing, rate limits, idempotency, the shared store."""
