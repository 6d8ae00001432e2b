from functools import reduce
from operator import or_

from django.contrib.auth import get_user_model
from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import connections
from django.db.models import (
    Case, Count, Exists, Expression, F, OuterRef, Prefetch, Q, Subquery, Sum, Value, When, Window,
)
from django.db.models.functions import RowNumber

from files.models import ConversionStatus, Kind, Revision
from files.selectors import revisions_matching
from parts.lifecycle import FABRICATION, RELEASED, Action, Category, Status, category_of
from parts.models import Part, PartEvent
from parts.permissions import assignable_people

# What a part's JSON shows of its people and its revisions: a page reads only these columns.
_PEOPLE = ("assignee", "reviewer", "created_by")
_BRIEF_REVISION_FIELDS = (
    "part", "kind", "number", "filename", "size", "sha256", "uploaded_at", "conversion_status", "preview_key",
    "geometry",  # the board card's thickness check (parts.materials)
)


def part_queryset():
    """Parts with everything their JSON shows, in a fixed number of queries however many there are.

    The people are joined and the revisions read by queries of their own: with the two revisions
    joined too, PostgreSQL took longer to plan a page's query (about 3 ms) than to run it."""
    briefs = Revision.objects.only(*_BRIEF_REVISION_FIELDS).order_by()
    newest_first = Window(RowNumber(), partition_by=F("part_id"), order_by=F("number").desc())
    latest_steps = briefs.filter(kind=Kind.STEP).annotate(newness=newest_first).filter(newness=1)
    return (
        Part.objects.select_related(*_PEOPLE)
        .only(*(field.name for field in Part._meta.concrete_fields), *(f"{person}__username" for person in _PEOPLE))
        .prefetch_related(
            Prefetch("approved_revision", queryset=briefs),
            Prefetch("built_revision", queryset=briefs),
            Prefetch("approved_drawing", queryset=briefs),
            Prefetch("built_drawing", queryset=briefs),
            Prefetch("revisions", queryset=latest_steps, to_attr="latest_step_revisions"),
        )
    )


def parts_with_newer_revision(parts):
    """Released parts with a STEP revision newer than the approved one (Part.newer_revision), in one query."""
    newer = Revision.objects.filter(part=OuterRef("pk"), kind=Kind.STEP, number__gt=OuterRef("approved_revision__number"))
    return parts.filter(Exists(newer), status__in=RELEASED, approved_revision__isnull=False)


def parts_whose_latest_conversion_failed(parts):
    """Parts whose newest STEP revision could not be converted to a 3D model."""
    latest = Revision.objects.filter(part=OuterRef("pk"), kind=Kind.STEP).order_by("-number")
    return parts.annotate(latest_conversion=Subquery(latest.values("conversion_status")[:1])).filter(
        latest_conversion=ConversionStatus.FAILED,
    )


# Searched by substring on SQLite; on PostgreSQL by words (StoredSearchVector), and the assignee by substring.
# Both also find a part by its revisions' file names, descriptions and STEP product names (files.selectors).
SEARCH_FIELDS = ("name", "part_number", "notes", "subsystem", "material", "storage_location", "assignee__username")


class StoredSearchVector(Expression):
    """A part's words as PostgreSQL keeps them, in the generated, GIN-indexed column search_vector
    (migration 0003; the models do not know the column)."""

    output_field = SearchVectorField()

    def as_sql(self, compiler, connection):
        table = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return f"{table}.{connection.ops.quote_name('search_vector')}", []


def _prefix_query(word):
    """A full-text query for words starting with `word`, which is taken literally."""
    quoted = word.replace("\\", "\\\\").replace("'", "''")
    return SearchQuery(f"'{quoted}':*", search_type="raw", config="simple")


# PostgreSQL cannot tell how many parts a prefix search matches (it guesses 0.5%), so for a
# rare word it would walk every part in date order looking for a page of matches (100 ms at
# 100,000 parts). So the matches are first gathered through the index, unordered; when
# there are at most this many, the page is read by their ids.
FEW_MATCHES = 1000


def parts_matching(parts, text):
    """The parts in which every word of `text` appears: as a word's beginning on PostgreSQL
    (name, part number, notes, subsystem, material, storage location; any part of the assignee's
    username), anywhere in one of SEARCH_FIELDS elsewhere; or, for a word of FILE_WORD_LENGTH
    characters or more, anywhere in the file name, description or STEP product names of one of
    the part's revisions."""
    words = text.split()
    if not words:
        return parts
    if connections[parts.db].vendor != "postgresql":
        for word in words:
            in_fields = reduce(or_, (Q(**{f"{field}__icontains": word}) for field in SEARCH_FIELDS))
            if len(word) >= FILE_WORD_LENGTH:
                in_fields |= Q(pk__in=_parts_with_revisions_matching(word))
            parts = parts.filter(in_fields)
        return parts
    conditions = part_search_conditions(words)
    few = list(part_search_matches(conditions).values_list("pk", flat=True)[: FEW_MATCHES + 1])
    if len(few) <= FEW_MATCHES:
        return parts.filter(pk__in=few)
    return parts.alias(search_vector=StoredSearchVector()).filter(*conditions)


def part_search_matches(conditions):
    """Every part meeting the search's conditions, in no order: PostgreSQL reads them from the index."""
    return Part.objects.alias(search_vector=StoredSearchVector()).filter(*conditions).order_by()


def part_search_conditions(words):
    """One condition per word: in the part's words, or in its assignee's username."""
    # Users are few: look up the matching ones once, so each word's condition stays indexable.
    users = get_user_model().objects.filter(reduce(or_, (Q(username__icontains=word) for word in words)))
    usernames = dict(users.values_list("username", "pk"))
    conditions = []
    for word in words:
        condition = Q(search_vector=_prefix_query(word)) | Q(
            assignee__in=[pk for username, pk in usernames.items() if word.casefold() in username.casefold()]
        )
        if len(word) >= FILE_WORD_LENGTH:
            condition |= Q(pk__in=_revision_matches_for_index(word))
        conditions.append(condition)
    return conditions


# A part's files are searched for words of at least this many characters: the revisions' trigram
# index serves no shorter word, and a scan of every revision for "17" costs more than the search.
FILE_WORD_LENGTH = 3


def _parts_with_revisions_matching(word):
    return revisions_matching(Revision.objects.order_by(), word).values("part_id")


def _revision_matches_for_index(word):
    """The parts whose revisions hold `word`, as a list of ids when they are few (read first through
    the revisions' trigram index), so that each word's condition stays one the parts' indexes serve."""
    matching = revisions_matching(Revision.objects.order_by(), word).values_list("part_id", flat=True)
    few = list(matching.distinct()[: FEW_MATCHES + 1])
    return few if len(few) <= FEW_MATCHES else _parts_with_revisions_matching(word)


def part_stats(parts=None):
    """Counts and total amounts per category and per status."""
    parts = Part.objects.all() if parts is None else parts
    rows = parts.order_by().values("status", "type").annotate(count=Count("id"), amount=Sum("amount"))
    empty = {"count": 0, "amount": 0}
    categories = {category.value: dict(empty) for category in Category}
    statuses = {status.value: dict(empty) for status in Status}
    total = dict(empty)
    for row in rows:
        for bucket in (categories[category_of(row["status"], row["type"])], statuses[row["status"]], total):
            bucket["count"] += row["count"]
            bucket["amount"] += row["amount"]
    return {"categories": categories, "statuses": statuses, "total": total}


# Shop-floor pages


def board_order(parts):
    """What to make next first: half-finished parts, then waiting ones, then work in progress, newest first."""
    first_to_make = Case(
        When(status=Status.ALREADY_STARTED, then=Value(0)),
        When(status=Status.REVIEWED, then=Value(1)),
        When(status=Status.IN_PROGRESS, then=Value(2)),
        default=Value(3),
    )
    return parts.annotate(board_rank=first_to_make).order_by("board_rank", "-updated_at", "-id")


def remake_reasons(parts):
    """{part id: why it is to be made again} for the parts marked as made incorrectly and back in
    fabrication: the reason given when the part was last marked so (one query for a page of parts)."""
    ids = [part.pk for part in parts if part.completed_incorrectly and part.status in FABRICATION]
    if not ids:
        return {}
    marks = PartEvent.objects.filter(part_id__in=ids, action=Action.MARK_INCORRECT).order_by("created_at", "id")
    return dict(marks.values_list("part_id", "note"))


def board_filter_choices():
    """The subsystems, materials and assignees the board's filters offer."""
    def distinct(field):
        return list(
            Part.objects.exclude(**{field: ""}).order_by(field).values_list(field, flat=True).distinct()
        )

    return {
        "subsystems": distinct("subsystem"), "materials": distinct("material"), "people": list(assignable_people()),
    }


# Claim-to-completion time buckets for the stats page: (label, upper bound in hours).
COMPLETION_BUCKETS = (("under 1 h", 1), ("1–4 h", 4), ("4–8 h", 8), ("8–24 h", 24), ("over 24 h", None))


def completion_time_buckets(parts=None):
    """How many completed parts took how long from their (last) claim to completion."""
    parts = Part.objects.all() if parts is None else parts
    counts = {label: 0 for label, _ in COMPLETION_BUCKETS}
    spans = parts.filter(
        status=Status.COMPLETED, claimed_at__isnull=False, completed_at__isnull=False
    ).values_list("claimed_at", "completed_at")
    for claimed_at, completed_at in spans:
        hours = (completed_at - claimed_at).total_seconds() / 3600
        label = next(label for label, bound in COMPLETION_BUCKETS if bound is None or hours < bound)
        counts[label] += 1
    return [{"label": label, "count": count} for label, count in counts.items()]


def completion_leaderboard(parts=None):
    """Who completed how many parts (and units), most first."""
    parts = Part.objects.all() if parts is None else parts
    return list(
        parts.filter(status=Status.COMPLETED, assignee__isnull=False)
        .order_by().values("assignee__username")
        .annotate(parts=Count("id"), units=Sum("amount"))
        .order_by("-parts", "-units", "assignee__username")
    )
