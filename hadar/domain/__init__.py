"""Tortoise models and pure rules, one module per aggregate. No HTTP, GraphQL or Redis here."""

MODEL_MODULES = [
    "hadar.domain.tenants",
    "hadar.domain.leads",
    "hadar.domain.records",
    "hadar.domain.webhooks",
    "hadar.domain.conversations",
    "hadar.domain.templates",
    "hadar.domain.integrations",
    "hadar.domain.properties",
    "hadar.domain.bookings",
    "hadar.domain.invoices",
    "hadar.domain.calls",
]
