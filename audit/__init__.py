"""The audit trail: who downloaded or previewed which file (changes are in django-auditlog)."""
