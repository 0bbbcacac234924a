"""Tortoise models and pure rules, one module per aggregate. No HTTP, GraphQL or Redis here."""

from __future__ import annotations

from tortoise.models import Model

from hadar.discovery import modules


def model_modules() -> list[str]:
    """The modules of this package that define a Tortoise model: what the ORM registers
    (a new aggregate's module is found by existing, no list to extend)."""
    return [
        module.__name__
        for module in modules(__name__)
        if any(
            isinstance(value, type)
            and issubclass(value, Model)
            and value.__module__ == module.__name__
            for value in vars(module).values()
        )
    ]
