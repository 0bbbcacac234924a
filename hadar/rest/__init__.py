"""Starlette adapters: parse -> service -> envelope. No rule lives here."""
