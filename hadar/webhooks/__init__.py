"""Outbound webhooks: signing, address checks, the delivery queue and the worker."""
