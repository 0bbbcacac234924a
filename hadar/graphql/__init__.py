"""The GraphQL surface: Strawberry types, loaders and resolvers over the same services as REST.

    view.py      HadarGraphQL: admission, idempotency, GraphiQL, the HTTP response
    schema.py    the Schema (limits, caches) and export_sdl()
    queries.py   Query; mutations.py: Mutation
    types.py     object types (Lead, ApiKey, connections); inputs.py: input types
    scalars.py   DateTime, JSON
    loaders.py   per-request DataLoaders; context.py: what a resolver sees
    errors.py    the GraphQL translator of HadarError
"""
