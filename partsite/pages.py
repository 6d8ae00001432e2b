"""What every HTML page shares: who may see it, and how a refused action reaches the user."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render

from files.models import CONVERSION_BADGE_COLOURS
from parts.lifecycle import BADGE_COLOURS
from parts.models import PagePreference
from partsite.errors import DomainError
from partsite.roles import role_of

# Every colour a badge may have, for the pages' stylesheet rules (templates/_badge_colours.html).
ALL_BADGE_COLOURS = sorted({*BADGE_COLOURS.values(), *CONVERSION_BADGE_COLOURS.values()})


def role_required(view):
    """Pages need a role: anonymous people log in first; people without a role are told so (403)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if role_of(request.user) is None:
            return render(request, "no_role.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def run_or_tell(request, call, success):
    """Run a service call; a refusal (409, 403, 400) becomes a message on the page, never an error page.

    Returns what the call returned, or None when it was refused.
    """
    try:
        result = call()
    except DomainError as refused:
        messages.error(request, refused.message)
        return None
    messages.success(request, success(result) if callable(success) else success)
    return result


def page_context(request):
    """The user's role (the header shows it and hides what it may not use), their high-contrast
    choice, and the badge colours, for every template."""
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "role": role_of(user) if user is not None else None,
        "badge_colours": ALL_BADGE_COLOURS,
        "high_contrast": signed_in and PagePreference.objects.filter(user=user, high_contrast=True).exists(),
    }
