"""Schema migrations of the parts app."""
