"""Schemathesis against a live instance: the seed (.ci/schemathesis.sh runs it)."""
