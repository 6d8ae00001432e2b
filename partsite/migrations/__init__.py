"""Schema migrations of the project app (API keys)."""
