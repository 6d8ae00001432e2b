"""Management commands of the files app."""
