"""The part lifecycle as data: statuses, queues, and the moves between them.

The API, the admin, the pages and the services all read this table; nobody
re-encodes it. A move names the statuses it may start from, where it goes, and
who may make it:

    action          from                                    to
    approve         pending                                 reviewed
    repin           reviewed, in_progress, already_started  (stays)
    assign, claim   reviewed, already_started               in_progress
    unclaim         in_progress                             already_started
    complete        in_progress                             completed
    revert          completed                               in_progress
    mark_incorrect  completed                               reviewed (to be made again)
    send_back       reviewed, in_progress, already_started  pending
    retire          any but retired                         retired
    restore         retired                                 pending

Approval is a release: it pins a STEP revision (the one the lead chose, else the latest) and the
latest drawing, and freezes RELEASED_FIELDS while the part is RELEASED (until it is sent back): a
fabricator may not change them, a lead only with a reason, which goes on the timeline
(`edit_released`). A newer upload does not move the pin; `repin` approves a newer revision of a
part already released, without changing its status.

Uploading a file is not a move, but it is on the timeline too (action `upload`).
What each move takes (a reason, an assignee, ...) is declared beside this, in parts.moves.
"""

from dataclasses import dataclass
from enum import Enum

from django.db import models


class Type(models.TextChoices):
    CNC = "cnc", "CNC"
    HAND = "hand", "Hand"
    MISC = "misc", "Misc"


class Status(models.TextChoices):
    PENDING = "pending", "In review"
    REVIEWED = "reviewed", "Approved"
    IN_PROGRESS = "in_progress", "In progress"
    ALREADY_STARTED = "already_started", "Already started"
    COMPLETED = "completed", "Completed"
    RETIRED = "retired", "Retired"


class Category(models.TextChoices):
    REVIEW = "review", "Review"
    CNC = "cnc", "CNC"
    HAND = "hand", "Hand"
    MISC = "misc", "Misc"
    COMPLETED = "completed", "Completed"
    RETIRED = "retired", "Retired"


# Statuses in which a part waits in, or moves through, its fabrication queue.
FABRICATION = frozenset({Status.REVIEWED, Status.IN_PROGRESS, Status.ALREADY_STARTED})
CLAIMABLE = frozenset({Status.REVIEWED, Status.ALREADY_STARTED})
# Approved and not sent back since: what was approved is what is made.
RELEASED = FABRICATION | {Status.COMPLETED}
# The fields an approval releases with the revision: frozen while the part is RELEASED.
RELEASED_FIELDS = ("type", "material", "material_thickness", "amount")
ALL_STATUSES = frozenset(Status)

BADGE_COLOURS = {
    # White text on each meets WCAG AA (4.5:1 or more).
    Status.PENDING: "#975a16",
    Status.REVIEWED: "#2b6cb0",
    Status.IN_PROGRESS: "#6b46c1",
    Status.ALREADY_STARTED: "#c05621",
    Status.COMPLETED: "#2f855a",
    Status.RETIRED: "#4a5568",
}

STATUS_CATEGORY = {
    Status.PENDING: Category.REVIEW,
    Status.COMPLETED: Category.COMPLETED,
    Status.RETIRED: Category.RETIRED,
}


def category_of(status, type_):
    """The queue a part shows in: its type's queue while in fabrication."""
    return STATUS_CATEGORY.get(status) or Category(type_)


class Who(Enum):
    """Who may make a move. Leads may make every move."""

    LEAD = "a lead"
    WORKER = "a lead or a fabricator"
    ASSIGNEE = "the assignee or a lead"


class Action(models.TextChoices):
    CREATE = "create", "Created"
    APPROVE = "approve", "Approve"
    REPIN = "repin", "Re-approve"
    ASSIGN = "assign", "Assign"
    CLAIM = "claim", "Claim"
    UNCLAIM = "unclaim", "Unclaim"
    COMPLETE = "complete", "Complete"
    REVERT = "revert", "Revert"
    MARK_INCORRECT = "mark_incorrect", "Mark completed incorrectly"
    SEND_BACK = "send_back", "Send back to review"
    RETIRE = "retire", "Retire"
    RESTORE = "restore", "Restore"
    UPLOAD = "upload", "Uploaded a file"
    EDIT_RELEASED = "edit_released", "Edit of a released part"


@dataclass(frozen=True)
class Move:
    """Where a move may start, where it goes (None: the part stays in its status), who may make it."""

    sources: frozenset
    target: Status | None
    who: Who


MOVES = {
    Action.APPROVE: Move(frozenset({Status.PENDING}), Status.REVIEWED, Who.LEAD),
    Action.REPIN: Move(FABRICATION, None, Who.LEAD),
    Action.ASSIGN: Move(CLAIMABLE, Status.IN_PROGRESS, Who.LEAD),
    Action.CLAIM: Move(CLAIMABLE, Status.IN_PROGRESS, Who.WORKER),
    Action.UNCLAIM: Move(frozenset({Status.IN_PROGRESS}), Status.ALREADY_STARTED, Who.ASSIGNEE),
    Action.COMPLETE: Move(frozenset({Status.IN_PROGRESS}), Status.COMPLETED, Who.ASSIGNEE),
    Action.REVERT: Move(frozenset({Status.COMPLETED}), Status.IN_PROGRESS, Who.LEAD),
    Action.MARK_INCORRECT: Move(frozenset({Status.COMPLETED}), Status.REVIEWED, Who.LEAD),
    Action.SEND_BACK: Move(FABRICATION, Status.PENDING, Who.LEAD),
    Action.RETIRE: Move(ALL_STATUSES - {Status.RETIRED}, Status.RETIRED, Who.LEAD),
    Action.RESTORE: Move(frozenset({Status.RETIRED}), Status.PENDING, Who.LEAD),
}


def illegal_move_message(action, status):
    move = MOVES[action]
    allowed = ", ".join(Status(s).label.lower() for s in sorted(move.sources))
    return (
        f"Cannot {Action(action).label.lower()} a part that is {Status(status).label.lower()}; "
        f"only from: {allowed}."
    )
