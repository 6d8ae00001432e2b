"""The audit trail: changes (django-auditlog), file accesses and sign-ins; the leads' feed and each part's history."""
