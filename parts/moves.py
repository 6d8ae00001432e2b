"""What each move takes, declared once: the fields of its body and their rules, its button, its summary.

The lifecycle table (parts.lifecycle.MOVES) says where a move may go and who may make it; the
table here says what it asks for. Everything else is derived from the two:

- the API's request body, answers and summary for each move (parts.serializers, parts.api);
- the part page's buttons and forms (parts.forms, parts.views, templates/parts/detail.html);
- the admin's action forms (parts.forms, parts.admin);
- the checks each move's service makes before it writes (parts.services.MOVE_SERVICES).

Adding a move: its Action and its row in parts.lifecycle.MOVES, its row in MOVE_SPECS below, and
its service in parts.services under `@_move_service(Action.X)`. Adding a field to a move is one
entry in its `fields` and one keyword of its service. A new kind of field (say, one of the part's
revisions) is a class here with its `clean`, and how the API and the forms ask for it
(parts.serializers.MOVE_BODY_FIELDS, parts.forms.MOVE_FORM_FIELDS).
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from partsite.errors import Invalid
from parts import permissions
from parts.lifecycle import Action
from parts.materials import thickness_mismatches


class Style(StrEnum):
    """How a move's button looks: the everyday moves stand out, the drastic ones warn."""

    PRIMARY = "primary"
    DANGER = "danger"
    PLAIN = ""


@dataclass(frozen=True)
class Text:
    """Free text, without the spaces around it. Required when it says what to answer if it is missing."""

    name: str
    label: str
    missing: str = ""
    max_length: int = 2000
    help_text: str = ""
    multiline: bool = False
    placeholder: str = ""
    # The part page fills in the part's own value of the same name (where it is stored now).
    prefill: bool = False

    @property
    def required(self):
        return bool(self.missing)

    def clean(self, value):
        value = (value or "").strip()
        if self.required and not value:
            raise Invalid(self.missing, field=self.name)
        if len(value) > self.max_length:
            raise Invalid(
                f"{self.name.replace('_', ' ').capitalize()} may be at most {self.max_length} characters.",
                field=self.name,
            )
        return value


@dataclass(frozen=True)
class Person:
    """Someone who can be assigned parts (parts.permissions.assignable_people); always required."""

    name: str
    label: str
    missing: str
    help_text: str = ""
    required = True
    prefill = False

    def clean(self, user):
        if user is None:
            raise Invalid(self.missing, field=self.name)
        if not permissions.can_be_assigned(user):
            raise Invalid(f"{user.username} is not a fabricator or lead and cannot be assigned parts.", field=self.name)
        return user


@dataclass(frozen=True)
class RevisionChoice:
    """One of the part's STEP revisions, by id; optional. Whether it is one of this part's, and what
    leaving it out means, the move's service decides under the part's lock."""

    name: str
    label: str
    help_text: str = ""
    required = False
    prefill = False

    def clean(self, revision):
        return revision


@dataclass(frozen=True)
class Acknowledgement:
    """A yes the move's service asks for when what it is about to do needs a lead's second look (a plate
    not as thick as the part says); false when left out. The service decides when it is needed and
    refuses without it, naming what to acknowledge, so the API, the pages and the admin all ask.
    `explain(part)` says what there is to acknowledge on one part (empty when nothing): the part
    page and the admin's form show the box, with that as its help, only when there is something."""

    name: str
    label: str
    explain: Callable
    help_text: str = ""
    required = False
    prefill = False

    def clean(self, value):
        return bool(value)


@dataclass(frozen=True)
class Confirmation:
    """A box the part page asks to tick before it sends the move, when `applies(part)`.

    The page's own safeguard against a slip of the finger: the API and the admin take the move
    itself as the answer. `label` and `refusal` are formatted with the part."""

    name: str
    applies: Callable
    label: str
    refusal: str


@dataclass(frozen=True)
class MoveSpec:
    """One move's declaration: its summary (for the API's docs), its button, and what it takes."""

    summary: str
    style: Style = Style.PLAIN
    fields: tuple = ()
    confirmation: Confirmation | None = None

    @property
    def asks(self):
        """Whether the move needs an answer before it can be made (the admin asks first)."""
        return any(field.required for field in self.fields)

    def clean(self, action, body):
        unknown = set(body) - {field.name for field in self.fields}
        if unknown:
            raise TypeError(f"{action} takes no {', '.join(sorted(unknown))}")
        return {field.name: field.clean(body.get(field.name)) for field in self.fields}


REASON = Text(
    "reason", "Reason", missing="A reason is required.", multiline=True, help_text="Why; it goes on the timeline.",
)
NOTE = Text("note", "Note (optional)", help_text="Goes on the timeline.")
THICKNESS_CONFIRMED = Acknowledgement(
    "thickness_confirmed", "Approve although the plate is not as thick as the part says",
    explain=lambda part: " ".join(f"{revision.label}: {mismatch.message}"
                                  for revision, mismatch in thickness_mismatches(part).items()),
    help_text="Needed when the approved model's plate differs from the part's material thickness "
              "(the part page and the board say by how much).",
)
REVISION = RevisionChoice(
    "revision", "Revision to approve",
    help_text="The STEP revision to pin; the latest when left out. One whose 3D model failed or is not "
              "converted yet is approved only when chosen here.",
)

MOVE_SPECS = {
    Action.APPROVE: MoveSpec("Approve a part in review: pin a STEP revision and the latest drawing", Style.PRIMARY,
                             (REVISION, THICKNESS_CONFIRMED, NOTE)),
    Action.REPIN: MoveSpec("Approve a newer revision of a released part (re-pin)", Style.PLAIN,
                           (REVISION, THICKNESS_CONFIRMED, NOTE)),
    Action.ASSIGN: MoveSpec("Assign a part to someone who makes parts", Style.PLAIN, (
        Person("assignee", "Assign to", missing="Choose who to assign the part to.",
               help_text="The username of a lead or fabricator."),
    )),
    Action.CLAIM: MoveSpec("Claim a part for yourself", Style.PRIMARY),
    Action.UNCLAIM: MoveSpec("Put unfinished work back", Style.PLAIN, (
        Text("storage_location", "Where is the unfinished part?",
             missing="Where the unfinished part is stored is required.", max_length=200, placeholder="e.g. Shelf B3",
             prefill=True, help_text="Where the unfinished part is kept."),
    )),
    Action.COMPLETE: MoveSpec(
        "Complete a part", Style.PRIMARY, (
            # Not filled in from the part: its location until now is where the unfinished part was.
            Text("storage_location", "Where is the finished part? (optional)", max_length=200,
                 placeholder="e.g. Finished rack, shelf 2",
                 help_text="Where the finished part is kept; left as it was when not given."),
        ),
        Confirmation(
            "all_done", applies=lambda part: part.amount > 1, label="All {part.amount} are made",
            refusal="Complete {part.part_number} only when all {part.amount} are made; "
                    "otherwise unclaim it and say where the finished ones are.",
        ),
    ),
    Action.REVERT: MoveSpec("Reopen a completed part", Style.DANGER, (REASON,)),
    Action.MARK_INCORRECT: MoveSpec("Send a wrongly made part back to its queue", Style.DANGER, (REASON,)),
    Action.SEND_BACK: MoveSpec("Send a part back to review", Style.DANGER, (REASON,)),
    Action.RETIRE: MoveSpec("Retire an obsolete part", Style.DANGER, (REASON,)),
    Action.RESTORE: MoveSpec("Bring a retired part back to review", Style.PLAIN, (NOTE,)),
}
