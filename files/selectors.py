import json

from django.db import connections
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from files.models import Revision
from partsite.search import stored_text_contains


def revision_queryset():
    return Revision.objects.select_related("part", "uploaded_by")


def revisions_with_same_bytes_elsewhere(revision):
    """The revisions of other parts that hold exactly these bytes."""
    return revision_queryset().filter(sha256=revision.sha256).exclude(part=revision.part_id)


def revisions_matching(revisions, text):
    """The revisions in whose file name, description or STEP product names every word of `text`
    appears, ignoring case: on PostgreSQL through the trigram index on their stored search text
    (files migration 0005), elsewhere by scanning."""
    words = text.split()
    if connections[revisions.db].vendor == "postgresql":
        for word in words:
            revisions = revisions.filter(stored_text_contains("search_text", word))
        return revisions
    if words:
        revisions = revisions.annotate(product_names_text=Cast("product_names", TextField()))
    for word in words:
        # SQLite keeps JSON text ASCII-escaped ("Geh\u00e4use"); PostgreSQL keeps the letters themselves.
        in_product_names = Q(product_names_text__icontains=word) | Q(
            product_names_text__icontains=json.dumps(word)[1:-1]
        )
        revisions = revisions.filter(Q(filename__icontains=word) | Q(description__icontains=word) | in_product_names)
    return revisions
