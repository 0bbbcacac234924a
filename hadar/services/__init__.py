"""Use cases: every rule and every write lives here. Called by REST and GraphQL alike."""
