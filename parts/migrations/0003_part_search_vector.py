"""A GIN index over the words of each part, for full-text search on PostgreSQL.

The expression is frozen here, as migrations must be; parts.selectors.part_search_vector
queries with the same one (parts/tests/test_search_postgres.py proves the index is used).
Other databases get no index: they search by substring.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations
from django.db.models import Value
from django.db.models.functions import Replace

SEARCH_INDEX = GinIndex(
    SearchVector(
        "part_number", Replace("part_number", Value("-"), Value(" ")), "name", "material", "subsystem", "notes",
        config="simple",
    ),
    name="part_search_vector",
)


def add_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("parts", "Part"), SEARCH_INDEX)


def remove_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("parts", "Part"), SEARCH_INDEX)


class Migration(migrations.Migration):
    dependencies = [("parts", "0002_part_approved_revision_part_built_revision_and_more")]

    operations = [migrations.RunPython(add_search_index, remove_search_index, elidable=False)]
