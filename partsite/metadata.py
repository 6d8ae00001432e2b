"""What the API answers to OPTIONS."""

from rest_framework.metadata import SimpleMetadata


class ApiMetadata(SimpleMetadata):
    """DRF's answer, except for a list-level action that takes PUT (/api/notifications/email-settings/):
    DRF would look up the object a PUT replaces, and there is none, so it describes no actions."""

    def determine_actions(self, request, view):
        lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
        if "PUT" in view.allowed_methods and lookup and lookup not in view.kwargs:
            return {}
        return super().determine_actions(request, view)
