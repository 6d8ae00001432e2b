from functools import cached_property

from django.contrib.auth import get_user_model
from rest_framework import serializers

from files.models import Kind, Revision
from files.serializers import RevisionBriefSerializer
from partsite.errors import Invalid
from partsite.serializers import Username, datetime_field, username_json
from parts.lifecycle import Category, Status
from parts.models import Part, PartEvent
from parts.moves import MOVE_SPECS, Acknowledgement, Person, RevisionChoice, Text
from parts.permissions import allowed_actions

User = get_user_model()


class PartSerializer(serializers.ModelSerializer):
    category = serializers.ChoiceField(choices=Category.choices, read_only=True)
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)
    assignee = Username()
    reviewer = Username()
    created_by = Username()
    part_number = serializers.CharField(
        max_length=64, required=False, help_text="Generated when not given.",
        error_messages={"blank": "May not be blank; leave it out to have one generated."},
    )
    allowed_actions = serializers.SerializerMethodField(help_text="The moves you may make on this part now.")
    approved_revision = RevisionBriefSerializer(read_only=True, allow_null=True, help_text="The STEP revision the approval pinned.")
    latest_revision = RevisionBriefSerializer(read_only=True, allow_null=True, help_text="The newest STEP revision.")
    built_revision = RevisionBriefSerializer(read_only=True, allow_null=True, help_text="The STEP revision completion recorded.")
    approved_drawing = RevisionBriefSerializer(
        read_only=True, allow_null=True, help_text="The drawing the approval pinned with the STEP revision (the latest then).",
    )
    built_drawing = RevisionBriefSerializer(read_only=True, allow_null=True, help_text="The drawing completion recorded.")
    newer_revision = RevisionBriefSerializer(
        read_only=True, allow_null=True, help_text="The latest STEP revision when it is newer than the approved one, else null: "
                                  "a lead may approve it (repin).",
    )
    reason = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=2000,
        help_text="Why a lead changes the type, material, thickness or amount of an approved part (released "
                  "fields); it goes on the timeline. Fabricators may not change them once approved.",
    )

    class Meta:
        model = Part
        fields = [
            "id", "part_number", "name", "type", "material", "material_thickness", "subsystem", "amount", "notes",
            "onshape_url", "status", "category", "assignee", "claimed_at", "reviewer", "reviewed_at",
            "storage_location", "completed_at", "completed_incorrectly", "created_by", "created_at", "updated_at",
            "approved_revision", "latest_revision", "built_revision", "built_sha256", "approved_drawing",
            "built_drawing", "newer_revision", "allowed_actions", "reason",
        ]
        read_only_fields = [
            "claimed_at", "reviewed_at", "completed_at", "completed_incorrectly", "created_at", "updated_at",
            "built_sha256",
        ]

    def to_representation(self, part):
        # Written out: DRF's field-by-field path was most of the time of a page of 50 parts.
        # The JSON is the same as DRF's own, byte for byte, for every state a field can be in
        # (parts/tests/test_list_json.py compares the two).
        when = self._datetimes.to_representation
        return {
            "id": part.pk,
            "part_number": part.part_number,
            "name": part.name,
            "type": part.type,
            "material": part.material,
            "material_thickness": part.material_thickness,
            "subsystem": part.subsystem,
            "amount": part.amount,
            "notes": part.notes,
            "onshape_url": part.onshape_url,
            "status": part.status,
            "category": part.category,
            "assignee": username_json(part.assignee),
            "claimed_at": when(part.claimed_at),
            "reviewer": username_json(part.reviewer),
            "reviewed_at": when(part.reviewed_at),
            "storage_location": part.storage_location,
            "completed_at": when(part.completed_at),
            "completed_incorrectly": part.completed_incorrectly,
            "created_by": username_json(part.created_by),
            "created_at": when(part.created_at),
            "updated_at": when(part.updated_at),
            "approved_revision": self._revision_json(part.approved_revision),
            "latest_revision": self._revision_json(part.latest_revision),
            "built_revision": self._revision_json(part.built_revision),
            "built_sha256": part.built_sha256,
            "approved_drawing": self._revision_json(part.approved_drawing),
            "built_drawing": self._revision_json(part.built_drawing),
            "newer_revision": self._revision_json(part.newer_revision),
            "allowed_actions": self.get_allowed_actions(part),
        }

    def _revision_json(self, revision):
        return None if revision is None else self._brief_revisions.to_representation(revision)

    @cached_property
    def _datetimes(self):
        return datetime_field()

    @cached_property
    def _brief_revisions(self):
        # Not self.fields[...]: building this serializer's fields is not needed to write it out.
        return RevisionBriefSerializer(context=self.context)

    def validate_part_number(self, value):
        taken = Part.objects.filter(part_number__iexact=value)
        if self.instance:
            taken = taken.exclude(pk=self.instance.pk)
        if (other := taken.values_list("part_number", flat=True).first()) is not None:
            also = "" if other == value else f" as {other!r} (part numbers are unique in any case)"
            raise serializers.ValidationError(f"Part number {value!r} is already taken{also}.")
        return value

    def get_allowed_actions(self, part) -> list[str]:
        return allowed_actions(self.context["request"].user, part)


class PartEventSerializer(serializers.ModelSerializer):
    actor = Username()

    class Meta:
        model = PartEvent
        fields = ["id", "action", "from_status", "to_status", "actor", "created_at", "note"]


# Each move's request body and its 400 answer, built from its declaration (parts.moves).


class PersonField(serializers.SlugRelatedField):
    """A person by username: an active user, and one who can be assigned parts."""

    def __init__(self, person, **kwargs):
        self.person = person
        super().__init__(
            slug_field="username", queryset=User.objects.filter(is_active=True),
            error_messages={"does_not_exist": "No active user named {value}.", "required": person.missing,
                            "null": person.missing},
            help_text=person.help_text, **kwargs,
        )

    def to_internal_value(self, data):
        try:
            return self.person.clean(self._user_named(data))
        except Invalid as refused:
            raise serializers.ValidationError(refused.message) from None


    def _user_named(self, data):
        """The user with this username in any case (as the audit and list filters match names);
        the exact spelling first where two users' names differ only in case."""
        if not isinstance(data, str):
            self.fail("invalid")
        named = list(self.get_queryset().filter(username__iexact=data)[:10])
        exact = [user for user in named if user.username == data]
        if exact or len(named) == 1:
            return (exact or named)[0]
        self.fail("does_not_exist", slug_name=self.slug_field, value=data)


def _text_field(text):
    missing = {"required": text.missing, "blank": text.missing, "null": text.missing} if text.required else {}
    return serializers.CharField(
        max_length=text.max_length, required=text.required, allow_blank=not text.required,
        help_text=text.help_text, error_messages=missing,
    )


def _revision_field(choice):
    return serializers.PrimaryKeyRelatedField(
        queryset=Revision.objects.filter(kind=Kind.STEP), required=False, allow_null=True,
        help_text=f"A STEP revision's id. {choice.help_text}",
        error_messages={"does_not_exist": "There is no STEP revision with id {pk_value}.",
                        "incorrect_type": "A revision is named by its id (a number)."},
    )


def _acknowledgement_field(acknowledgement):
    return serializers.BooleanField(required=False, default=False, help_text=acknowledgement.help_text)


# How the API asks for each kind of field.
MOVE_BODY_FIELDS = {
    Text: _text_field, Person: PersonField, RevisionChoice: _revision_field, Acknowledgement: _acknowledgement_field,
}


def _pascal(action):
    return "".join(word.capitalize() for word in action.split("_"))


def _move_body_serializer(action, spec):
    fields = {field.name: MOVE_BODY_FIELDS[type(field)](field) for field in spec.fields}
    return type(f"{_pascal(action)}BodySerializer", (serializers.Serializer,), fields)


def _move_refusal_serializer(action, spec):
    """What a 400 of this move looks like: DRF's problems per field, or the service's refusal."""
    problems = {
        field.name: serializers.ListField(child=serializers.CharField(), required=False) for field in spec.fields
    }
    return type(f"{_pascal(action)}RefusalSerializer", (serializers.Serializer,), {
        "detail": serializers.CharField(required=False, help_text="The refusal, when the move's checks made it."),
        **problems,
        "non_field_errors": serializers.ListField(
            child=serializers.CharField(), required=False, help_text="The body is not an object."
        ),
    })


# Moves that take nothing have no body.
MOVE_BODY_SERIALIZERS = {
    action: _move_body_serializer(action, spec) for action, spec in MOVE_SPECS.items() if spec.fields
}
MOVE_REFUSAL_SERIALIZERS = {
    action: _move_refusal_serializer(action, spec) for action, spec in MOVE_SPECS.items() if spec.fields
}


class MoveConflictSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Why the move cannot be made now.")
    status = serializers.ChoiceField(
        choices=Status.choices, required=False,
        help_text="The part's status now; absent when the part was deleted meanwhile.",
    )


class StatsBucketSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    amount = serializers.IntegerField()


class StatsSerializer(serializers.Serializer):
    categories = serializers.DictField(child=StatsBucketSerializer())
    statuses = serializers.DictField(child=StatsBucketSerializer())
    total = StatsBucketSerializer()


class PartImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8) with a header line; the columns of GET /api/parts/export/.")
    dry_run = serializers.BooleanField(default=False, help_text="Check and report only; write nothing.")


class ImportProblemSerializer(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="As numbered in the file; the header is line 1.")
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()
    text = serializers.CharField(help_text='"line N, field F: message"')


class PartImportReportSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    detail = serializers.CharField()
    rows = serializers.IntegerField(help_text="Rows that passed every check.")
    created = serializers.ListField(child=serializers.CharField(), help_text="Part numbers of the parts created.")
    ignored_columns = serializers.ListField(
        child=serializers.CharField(), help_text="Columns of the export that Partsite keeps and does not import.",
    )
    errors = ImportProblemSerializer(many=True)


class PartImportQuerySerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(default=False)
