"""The part's stored search words (migration 0003) take in its storage location too, so that
"shelf b3" finds what lies there. The generated column is made again with the new expression."""

from django.db import migrations

WORDS = """
    coalesce(part_number, '') || ' ' || replace(coalesce(part_number, ''), '-', ' ') || ' '
    || coalesce(name, '') || ' ' || coalesce(material, '') || ' ' || coalesce(subsystem, '') || ' '
    || coalesce(notes, ''){extra}
"""
REPLACE_SEARCH_VECTOR = """
ALTER TABLE parts_part DROP COLUMN search_vector;
ALTER TABLE parts_part ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    to_tsvector('simple'::regconfig, {words})
) STORED;
CREATE INDEX part_search_vector ON parts_part USING gin (search_vector);
"""


def with_storage_location(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        words = WORDS.format(extra=" || ' ' || coalesce(storage_location, '')")
        schema_editor.execute(REPLACE_SEARCH_VECTOR.format(words=words))


def without_storage_location(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REPLACE_SEARCH_VECTOR.format(words=WORDS.format(extra="")))


class Migration(migrations.Migration):
    dependencies = [("parts", "0005_part_approved_drawing_built_drawing")]

    operations = [
        migrations.RunPython(with_storage_location, without_storage_location, elidable=False),
    ]
