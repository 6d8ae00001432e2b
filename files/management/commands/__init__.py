"""verify_storage."""
