"""The GraphQL surface: Strawberry types, loaders and resolvers over the same services as REST.

view.py       HadarGraphQL: admission, idempotency, GraphiQL, the HTTP response
plan.py       what a request will do (mutation? fail-closed?), read before it runs
schema.py     the Schema (limits, caches, executor) and export_sdl()
queries.py    Query; mutations.py: Mutation
types.py      object types (Lead, ApiKey, connections); inputs.py: input types
scalars.py    DateTime, BigInt, JSON; limits.py: depth, alias and token limits
loaders.py    per-request DataLoaders; context.py: what a resolver sees
execution.py  the executor's fast path for plain fields
errors.py     the GraphQL translator of HadarError
"""
