"""Schema migrations of the audit app."""
