"""The parts list's JSON, byte for byte: the list has a fast path (parts.serializers), and a
client must not be able to tell it is there."""

import itertools
import json
import zoneinfo
from datetime import datetime, timezone

import pytest
from django.utils import timezone as django_timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from files.models import ConversionStatus, Kind, Revision
from files.serializers import RevisionBriefSerializer
from parts.lifecycle import Status, Type
from parts.models import Part
from parts.selectors import part_queryset
from parts.serializers import PartSerializer
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db

CLAIMED = datetime(2026, 3, 1, 9, 30, 0, 250000, tzinfo=timezone.utc)
REVIEWED = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
COMPLETED = datetime(2026, 3, 2, 17, 5, 9, tzinfo=timezone.utc)


def make_revision(part, kind, number, *, preview=False, **fields):
    return Revision.objects.create(
        part=part, kind=kind, number=number, filename=f"bracket-{number}.{'step' if kind == Kind.STEP else 'pdf'}",
        size=1000 + number, sha256=f"{number:x}" * 64, content_type="model/step",
        storage_key=f"revisions/{part.pk}-{kind}-{number}", uploaded_at=datetime(2026, 2, number, tzinfo=timezone.utc),
        preview_key=f"previews/{part.pk}{number}abc.png" if preview else "", **fields,
    )


@pytest.fixture
def shop(lead, fabricator):
    """A completed part with approved, built and newer revisions (some with previews), a part in
    progress with a drawing only, and a pending part with nothing; oldest first."""
    built = make_part(
        status=Status.COMPLETED, assignee=fabricator, reviewer=lead, created_by=lead, name="Gearbox plate ½",
        notes='Deburr; "chamfer" the holes', amount=4, claimed_at=CLAIMED, reviewed_at=REVIEWED,
        completed_at=COMPLETED, storage_location="Shelf B", onshape_url="https://cad.onshape.com/documents/1",
    )
    steps = [
        make_revision(built, Kind.STEP, 1, preview=True, conversion_status=ConversionStatus.READY),
        make_revision(built, Kind.STEP, 2, conversion_status=ConversionStatus.FAILED),
        make_revision(built, Kind.STEP, 3, preview=True, conversion_status=ConversionStatus.READY),
    ]
    drawing = make_revision(built, Kind.DRAWING, 1)
    Part.objects.filter(pk=built.pk).update(
        approved_revision=steps[0], built_revision=steps[1], built_sha256=steps[1].sha256,
        approved_drawing=drawing, built_drawing=drawing,
    )
    started = make_part(status=Status.IN_PROGRESS, assignee=fabricator, created_by=fabricator, type="hand",
                        claimed_at=CLAIMED)
    make_revision(started, Kind.DRAWING, 1)
    waiting = make_part(created_by=None, material="", material_thickness="", subsystem="")
    for minutes, part in enumerate((built, started, waiting)):
        Part.objects.filter(pk=part.pk).update(
            created_at=datetime(2026, 1, 1, 12, minutes, tzinfo=timezone.utc),
            updated_at=datetime(2026, 3, 3, 12, minutes, 30, 123456, tzinfo=timezone.utc),
        )
    return built, started, waiting


def brief(revision, label, preview):
    url = f"http://testserver/api/revisions/{revision.pk}"
    return {
        "id": revision.pk, "number": revision.number, "label": label, "kind": revision.kind,
        "filename": revision.filename, "size": revision.size, "sha256": revision.sha256,
        "uploaded_at": f"2026-02-0{revision.number}T00:00:00Z", "conversion_status": revision.conversion_status,
        "download_url": f"{url}/download/", "preview_url": f"{url}/preview/?v={preview}" if preview else None,
    }


def test_a_page_of_parts_reads_exactly_as_before(as_fabricator, shop):
    built, started, waiting = shop
    approved, failed, newest = Revision.objects.filter(part=built, kind=Kind.STEP).order_by("number")
    drawing = Revision.objects.get(part=built, kind=Kind.DRAWING)
    common = {"type": "cnc", "material": "6061 aluminium", "material_thickness": "6 mm", "subsystem": "Drivetrain",
              "amount": 1, "notes": "", "onshape_url": ""}
    expected = {"count": 3, "next": None, "previous": None, "results": [
        {
            "id": waiting.pk, "part_number": waiting.part_number, "name": "Bracket",
            **common, "material": "", "material_thickness": "", "subsystem": "",
            "status": "pending", "category": "review", "assignee": None, "claimed_at": None,
            "reviewer": None, "reviewed_at": None, "storage_location": "", "completed_at": None,
            "completed_incorrectly": False, "created_by": None, "created_at": "2026-01-01T12:02:00Z",
            "updated_at": "2026-03-03T12:02:30.123456Z", "approved_revision": None, "latest_revision": None,
            "built_revision": None, "built_sha256": "", "approved_drawing": None, "built_drawing": None,
            "newer_revision": None, "allowed_actions": [],
        },
        {
            "id": started.pk, "part_number": started.part_number, "name": "Bracket",
            **common, "type": "hand",
            "status": "in_progress", "category": "hand", "assignee": "bob", "claimed_at": "2026-03-01T09:30:00.250000Z",
            "reviewer": None, "reviewed_at": None, "storage_location": "", "completed_at": None,
            "completed_incorrectly": False, "created_by": "bob", "created_at": "2026-01-01T12:01:00Z",
            "updated_at": "2026-03-03T12:01:30.123456Z", "approved_revision": None, "latest_revision": None,
            "built_revision": None, "built_sha256": "", "approved_drawing": None, "built_drawing": None,
            "newer_revision": None, "allowed_actions": ["unclaim", "complete"],
        },
        {
            "id": built.pk, "part_number": built.part_number, "name": "Gearbox plate ½",
            **common, "amount": 4, "notes": 'Deburr; "chamfer" the holes',
            "onshape_url": "https://cad.onshape.com/documents/1",
            "status": "completed", "category": "completed", "assignee": "bob",
            "claimed_at": "2026-03-01T09:30:00.250000Z", "reviewer": "alice", "reviewed_at": "2026-03-01T08:00:00Z",
            "storage_location": "Shelf B", "completed_at": "2026-03-02T17:05:09Z", "completed_incorrectly": False,
            "created_by": "alice", "created_at": "2026-01-01T12:00:00Z", "updated_at": "2026-03-03T12:00:30.123456Z",
            "approved_revision": brief(approved, "R1", f"{built.pk}1abc"),
            "latest_revision": brief(newest, "R3", f"{built.pk}3abc"),
            "built_revision": brief(failed, "R2", None),
            "built_sha256": failed.sha256,
            "approved_drawing": brief(drawing, "D1", None), "built_drawing": brief(drawing, "D1", None),
            "newer_revision": brief(newest, "R3", f"{built.pk}3abc"), "allowed_actions": [],
        },
    ]}

    response = as_fabricator.get("/api/parts/", {"ordering": "-updated_at"})

    assert response.status_code == 200
    assert response.content.decode() == json.dumps(expected, ensure_ascii=False, separators=(",", ":"))


def test_a_part_reads_the_same_in_the_list_and_on_its_own(as_lead, shop):
    built = shop[0]

    listed = as_lead.get("/api/parts/").json()["results"]

    assert [part for part in listed if part["id"] == built.pk] == [as_lead.get(f"/api/parts/{built.pk}/").json()]


def test_a_brief_revision_shows_exactly_the_fields_the_schema_declares(as_viewer, shop):
    part = as_viewer.get(f"/api/parts/{shop[0].pk}/").json()

    assert list(part["approved_revision"]) == list(RevisionBriefSerializer().fields)


def test_a_part_shows_exactly_the_fields_the_schema_declares(as_viewer, shop):
    part = as_viewer.get(f"/api/parts/{shop[0].pk}/").json()

    assert list(part) == [name for name, field in PartSerializer().fields.items() if not field.write_only]


# The fast path against DRF's own rendering of the same serializers, for parts in every state a
# field can be in: each status and type, people and times there or not, revisions pinned or not,
# with and without previews, in each conversion state; as each role sees them, in two time zones.


def drf_rendering(serializer_class):
    """The serializer with DRF's own field-by-field rendering instead of its written-out one,
    in it and in each serializer nested in it."""
    nested = {
        name: drf_rendering(type(field))(read_only=True, **({"source": field.source} if field.source != name else {}))
        for name, field in serializer_class().fields.items()
        if isinstance(field, serializers.BaseSerializer)
    }
    return type(f"DRF{serializer_class.__name__}", (serializer_class,), {
        "to_representation": serializers.Serializer.to_representation, **nested,
    })


@pytest.fixture
def every_state(lead, fabricator, other_fabricator):
    conversions = itertools.cycle(ConversionStatus)
    for number, (status, type_, full) in enumerate(itertools.product(Status, Type, (False, True)), start=1):
        if not full:
            make_part(status=status, type=type_, created_by=None, material="", material_thickness="", subsystem="",
                      claimed_at=None, completed_at=None)
            continue
        part = make_part(
            status=status, type=type_, assignee=fabricator if number % 3 else other_fabricator, reviewer=lead,
            created_by=fabricator, name=f"Plate «{number}»", notes='Deburr;\n"chamfer" the holes',
            amount=number, storage_location="Shelf B", onshape_url=f"https://cad.onshape.com/documents/{number}",
            claimed_at=CLAIMED, reviewed_at=REVIEWED, completed_at=COMPLETED.replace(microsecond=number),
            completed_incorrectly=number % 4 == 0,
        )
        steps = [
            make_revision(part, Kind.STEP, revision, preview=revision % 2 == 1, conversion_status=next(conversions))
            for revision in range(1, 1 + number % 4)
        ]
        drawing = make_revision(part, Kind.DRAWING, 1)
        if steps:
            Part.objects.filter(pk=part.pk).update(
                approved_revision=steps[0], built_revision=steps[-1], built_sha256=steps[-1].sha256,
                approved_drawing=drawing if number % 2 else None, built_drawing=drawing if number % 3 else None,
            )


@pytest.mark.parametrize("role", ["lead", "fabricator", "viewer"])
@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_the_written_out_json_is_what_drf_itself_writes_for_every_field_state(request, every_state, role, zone):
    api_request = Request(APIRequestFactory().get("/api/parts/"))
    api_request.user = request.getfixturevalue(role)
    context = {"request": api_request}

    with django_timezone.override(zoneinfo.ZoneInfo(zone)):
        parts = list(part_queryset())
        written_out = JSONRenderer().render(PartSerializer(parts, many=True, context=context).data)
        by_drf = JSONRenderer().render(drf_rendering(PartSerializer)(parts, many=True, context=context).data)

    assert len(parts) == 36
    assert written_out == by_drf
