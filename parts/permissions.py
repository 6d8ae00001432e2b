"""Who may do what to a part: the one place where that is decided."""

from django.contrib.auth import get_user_model

from partsite.errors import NotPermitted
from partsite.roles import Role, role_of
from parts.lifecycle import MOVES, Action, Who

_WORKERS = {Role.LEAD, Role.FABRICATOR}


def can_edit_parts(user):
    return role_of(user) in _WORKERS


def may_edit_released_parts(user):
    """A released part's type, material, thickness and amount are a lead's to change (with a reason)."""
    return role_of(user) == Role.LEAD


def can_delete_parts(user):
    return role_of(user) == Role.LEAD


def check_may_delete(user):
    if not can_delete_parts(user):
        raise NotPermitted("Only a lead may delete a part.")


def can_import_parts(user):
    """Importing many parts at once is a lead's call."""
    return role_of(user) == Role.LEAD


def assignable_people():
    """Who can be given a part: the active members of the lead and fabricator groups.

    The assignee choices of the part page and the admin, the board's assignee filter and the
    check of every assignment (parts.moves.Person) all ask this. It goes by group, not by
    role_of: a superuser acts as a lead everywhere, but one in neither group is an
    administrator's account, not someone at the machines, and is not offered parts."""
    return (
        get_user_model().objects.filter(is_active=True, groups__name__in=[Role.LEAD, Role.FABRICATOR])
        .distinct().order_by("username")
    )


def can_be_assigned(user):
    return assignable_people().filter(pk=user.pk).exists()


def may_attempt(user, action):
    """Whether the user's role may ever make this move (ignoring the part's state)."""
    role = role_of(user)
    who = MOVES[action].who
    if role == Role.LEAD:
        return True
    return role == Role.FABRICATOR and who in (Who.WORKER, Who.ASSIGNEE)


def check_may_attempt(user, action):
    if not may_attempt(user, action):
        raise NotPermitted(f"Only {MOVES[action].who.value} may {Action(action).label.lower()} a part.")


def check_may_move(user, action, part):
    """Raise NotPermitted unless the user may make this move on this part now."""
    check_may_attempt(user, action)
    if MOVES[action].who == Who.ASSIGNEE and role_of(user) != Role.LEAD and part.assignee_id != user.pk:
        raise NotPermitted(f"Only the assignee or a lead may {Action(action).label.lower()} this part.")


def allowed_actions(user, part):
    """The moves this user may make on this part in its current state, for buttons and the API."""
    allowed = []
    for action, move in MOVES.items():
        if part.status not in move.sources:
            continue
        try:
            check_may_move(user, action, part)
        except NotPermitted:
            continue
        allowed.append(action.value)
    return allowed
