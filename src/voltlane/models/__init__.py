"""ORM models: ``platform/`` (shared schema) and ``tenant/`` (one schema per brand)."""
