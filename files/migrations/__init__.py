"""Schema migrations of the files app."""
