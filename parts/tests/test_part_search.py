"""GET /api/parts/?search=: words found by their beginning, on SQLite and on PostgreSQL alike.

On PostgreSQL the search runs on a full-text index; the last tests prove that it does.
"""

import pytest
from django.db import connection

from parts.models import Part
from parts.selectors import part_search_conditions, part_search_matches
from parts.tests.factories import make_part

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="full-text search indexes exist on PostgreSQL only (set DATABASE_URL)"
)


def found(client, text):
    response = client.get("/api/parts/", {"search": text, "limit": 100})
    assert response.status_code == 200, response.json()
    return sorted(part["part_number"] for part in response.json()["results"])


@pytest.fixture
def numbered(db):
    for number, name in [("P-00012", "Gearbox plate"), ("P-00019", "Motor mount"), ("P-00123", "Spacer"),
                         ("Q-00012", "Bumper rail"), ("EL-2207", "Wiring loom")]:
        make_part(part_number=number, name=name)


def test_the_beginning_of_a_part_number_finds_every_part_numbered_so(as_viewer, numbered):
    assert found(as_viewer, "P-0001") == ["P-00012", "P-00019"]
    assert found(as_viewer, "p-00") == ["P-00012", "P-00019", "P-00123"]


def test_the_digits_of_a_part_number_find_it_without_its_prefix(as_viewer, numbered):
    assert found(as_viewer, "00012") == ["P-00012", "Q-00012"]
    assert found(as_viewer, "2207") == ["EL-2207"]


def test_a_number_and_a_word_of_the_name_together_narrow_the_search(as_viewer, numbered):
    assert found(as_viewer, "00012 gearbox") == ["P-00012"]
    assert found(as_viewer, "P-00012 rail") == []


def test_quotes_backslashes_and_operators_are_searched_for_as_typed(as_viewer, db):
    make_part(part_number="X-1", name="O'Brien's bracket")
    make_part(part_number="X-2", name="Plain bracket")

    assert found(as_viewer, "o'brien's") == ["X-1"]
    for text in ["\\", "'", "a:*", "!(b|c)&", "<->"]:
        assert as_viewer.get("/api/parts/", {"search": text}).status_code == 200


def test_an_empty_search_finds_everything(as_viewer, numbered):
    assert len(found(as_viewer, "   ")) == 5


def plan_without_table_scans(queryset):
    """PostgreSQL's plan when it may not read whole tables: on a table as small as a test's it
    would, so this is how a test shows that the search's condition is one the index serves."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    return queryset.explain()


@on_postgresql
def test_on_postgresql_a_search_reads_the_full_text_index(numbered):
    plan = plan_without_table_scans(part_search_matches(part_search_conditions(["gearbox"])))

    assert "Bitmap Index Scan on part_search_vector" in plan, plan
    assert "Seq Scan on parts_part" not in plan, plan


@on_postgresql
def test_on_postgresql_every_word_and_the_assignee_condition_can_use_an_index(numbered, fabricator):
    plan = plan_without_table_scans(part_search_matches(part_search_conditions(["bob", "P-0001", "motor"])))

    assert "Seq Scan on parts_part" not in plan, plan
    assert "part_search_vector" in plan, plan


def test_an_edited_part_is_found_by_its_new_words_only(as_lead, numbered):
    part = Part.objects.get(part_number="P-00019")

    as_lead.patch(f"/api/parts/{part.pk}/", {"name": "Sprocket guard"}, format="json")

    assert found(as_lead, "sprocket") == ["P-00019"]
    assert found(as_lead, "motor") == []


@on_postgresql
def test_on_postgresql_a_search_with_many_matches_finds_the_same_parts(as_viewer, numbered, monkeypatch):
    from parts import selectors

    monkeypatch.setattr(selectors, "FEW_MATCHES", 1)  # more matches than that: read in date order

    assert found(as_viewer, "P-0001") == ["P-00012", "P-00019"]
    assert found(as_viewer, "00012") == ["P-00012", "Q-00012"]


@pytest.fixture
def with_files(db, fabricator):
    from files.models import Kind, Revision

    plate = make_part(part_number="P-00031", name="Side plate", storage_location="Shelf B3, bin 2")
    mount = make_part(part_number="P-00032", name="Mount")
    make_part(part_number="P-00033", name="Unrelated")
    for part, number, filename, description, products in [
        (plate, 1, "gearbox_side_v2.step", "", ["GEARBOX-SIDE"]),
        (mount, 1, "mount.step", "Holes moved for the falcon", ["Motorhalterung Gehäuse"]),
    ]:
        Revision.objects.create(
            part=part, kind=Kind.STEP, number=number, filename=filename, description=description, size=10,
            sha256=f"{part.pk:064d}", content_type="model/step", storage_key=f"k/{part.pk}", product_names=products,
        )


@pytest.mark.parametrize("text, numbers", [
    ("gearbox_side", ["P-00031"]),  # a revision's file name, underscore and all
    ("falcon", ["P-00032"]),  # a revision's description
    ("gehäuse", ["P-00032"]),  # a STEP product name, non-ASCII
    ("halterung", ["P-00032"]),  # anywhere in a product name
    ("shelf b3", ["P-00031"]),  # the storage location
    ("side falcon", []),  # every word must match, not necessarily in the same place
    ("side plate", ["P-00031"]),
])
def test_a_search_finds_parts_by_their_files_and_where_they_are_stored(as_viewer, with_files, text, numbers):
    assert found(as_viewer, text) == numbers


@on_postgresql
def test_on_postgresql_a_revision_search_reads_the_trigram_index(with_files):
    from files.models import Revision
    from files.selectors import revisions_matching

    plan = plan_without_table_scans(revisions_matching(Revision.objects.order_by(), "gearbox"))
    assert "revision_search_text" in plan, plan
    assert "Seq Scan on files_revision" not in plan, plan


def test_a_word_shorter_than_three_characters_is_not_looked_for_in_file_names(as_viewer, with_files):
    assert found(as_viewer, "v2") == []  # only in gearbox_side_v2.step
    assert found(as_viewer, "_v2") == ["P-00031"]
