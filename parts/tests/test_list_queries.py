"""Every list endpoint reads a page in the same number of queries, however long the page.

The rows use everything a page shows: assignees, reviewers, authors, approved, built and
latest revisions, drawings, uploaders and timelines.
"""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from files.models import ConversionStatus, Kind, Revision
from parts.lifecycle import Action, Status
from parts.models import PartEvent
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db

PAGE_SIZES = (1, 10, 50)


def make_revision(part, kind, number, uploaded_by):
    return Revision.objects.create(
        part=part, kind=kind, number=number, filename=f"{part.part_number}-{number}.step", size=1000,
        sha256=uuid.uuid4().hex * 2, content_type="model/step", storage_key=f"revisions/{uuid.uuid4().hex}.step",
        uploaded_by=uploaded_by, schema="AP214", product_names=["Bracket"],
        conversion_status=ConversionStatus.READY if kind == Kind.STEP else ConversionStatus.NONE,
    )


@pytest.fixture
def busy_shop(lead, fabricator, other_fabricator):
    """60 parts, each assigned, reviewed and created by someone, with three STEP revisions and a
    drawing, approved on the first revision and built from the second, and two timeline events."""
    parts = []
    for index in range(60):
        part = make_part(
            status=Status.COMPLETED, assignee=(fabricator, other_fabricator)[index % 2], reviewer=lead,
            created_by=fabricator, name=f"Bracket {index}",
        )
        uploader = (fabricator, other_fabricator, lead)[index % 3]
        steps = [make_revision(part, Kind.STEP, number, uploader) for number in (1, 2, 3)]
        make_revision(part, Kind.DRAWING, 1, uploader)
        part.approved_revision, part.built_revision = steps[0], steps[1]
        part.save()
        for action, actor in ((Action.APPROVE, lead), (Action.CLAIM, fabricator)):
            PartEvent.objects.create(part=part, action=action, to_status=Status.REVIEWED, actor=actor)
        parts.append(part)
    return parts


def queries_per_page(client, url, **params):
    """{page size: number of queries} for GET url; each page must be full."""
    client.get(url)  # the API key's first use of the day writes its last_used_at once
    counts = {}
    for size in PAGE_SIZES:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, {**params, "limit": size})
        assert response.status_code == 200, response.json()
        assert len(response.json()["results"]) == size
        counts[size] = len(captured)
    return counts


def assert_constant(counts):
    assert len(set(counts.values())) == 1, f"queries per page size: {counts}"


@pytest.mark.parametrize("params", [{}, {"category": "completed"}, {"search": "bracket"}, {"ordering": "name"}])
def test_the_parts_list_takes_the_same_queries_for_any_page_size(as_fabricator, busy_shop, params):
    assert_constant(queries_per_page(as_fabricator, "/api/parts/", **params))


def test_a_page_of_parts_shows_every_related_row(as_lead, busy_shop):
    part = as_lead.get("/api/parts/", {"limit": 1}).json()["results"][0]

    assert part["assignee"] and part["reviewer"] and part["created_by"]
    assert (part["approved_revision"]["number"], part["built_revision"]["number"]) == (1, 2)
    assert part["latest_revision"]["number"] == 3


@pytest.mark.parametrize("params", [{}, {"kind": "step"}, {"search": "bracket"}, {"uploaded_by": "bob"}])
def test_the_revisions_list_takes_the_same_queries_for_any_page_size(as_viewer, busy_shop, params):
    assert_constant(queries_per_page(as_viewer, "/api/revisions/", **params))


def test_a_parts_revisions_list_takes_the_same_queries_for_any_page_size(as_viewer, busy_shop):
    part = busy_shop[0]
    for number in range(4, 60):
        make_revision(part, Kind.STEP, number, None)

    assert_constant(queries_per_page(as_viewer, f"/api/parts/{part.pk}/revisions/"))


def test_a_timeline_takes_the_same_queries_however_long_it_is(as_viewer, busy_shop):
    short, long = busy_shop[0], busy_shop[1]
    for _ in range(48):
        PartEvent.objects.create(part=long, action=Action.CLAIM, to_status=Status.IN_PROGRESS, actor=long.assignee)

    counts = {}
    as_viewer.get(f"/api/parts/{short.pk}/events/")  # the API key's first use writes its last_used_at
    for part in (short, long):
        with CaptureQueriesContext(connection) as captured:
            assert as_viewer.get(f"/api/parts/{part.pk}/events/").status_code == 200
        counts[part.events.count()] = len(captured)

    assert_constant(counts)


def test_the_board_takes_the_same_queries_however_many_parts_it_shows(client, fabricator, lead):
    client.force_login(fabricator)
    counts, shop = {}, []
    for shown in (1, 10, 40):
        while len(shop) < shown:
            part = make_part(status=Status.REVIEWED, assignee=fabricator, reviewer=lead, created_by=lead)
            for number in (1, 2):
                make_revision(part, Kind.STEP, number, fabricator)
            Revision.objects.filter(part=part, number=2).update(preview_key=f"previews/{uuid.uuid4().hex}.png")
            shop.append(part)
        with CaptureQueriesContext(connection) as captured:
            page = client.get("/", {"queue": "cnc"}).content.decode()
        assert page.count('class="part-card"') == shown
        assert page.count(f"/api/revisions/{shop[0].revisions.latest_step().pk}/preview/") == 1, "R2's preview"
        counts[shown] = len(captured)

    assert_constant(counts)


def test_a_parts_latest_revision_is_read_with_its_page_never_one_part_at_a_time(busy_shop):
    from parts.models import LatestRevisionNotFetched, Part
    from parts.selectors import part_queryset

    part = busy_shop[0]

    assert part_queryset().get(pk=part.pk).latest_revision.number == 3
    with pytest.raises(LatestRevisionNotFetched):
        Part.objects.get(pk=part.pk).latest_revision  # noqa: B018  (reading it is what is refused)
    assert Part.objects.get(pk=part.pk).revisions.latest_step().number == 3
