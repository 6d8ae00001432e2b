"""import_parts: parts from a CSV file, all or none, with a dry run."""
