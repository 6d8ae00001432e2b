"""Management commands of the parts app: import_parts."""
