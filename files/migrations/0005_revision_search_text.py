"""Revision search on PostgreSQL through a trigram index: a generated column of a revision's
searchable text (file name, description, STEP product names) and a GIN index on its trigrams,
which serves the substring search (ILIKE '%word%') the API and the board make. The models do
not know the column (partsite.search.StoredText reads it). Other databases get neither: they
scan, as before.
"""

from django.db import migrations

ADD_SEARCH_TEXT = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
ALTER TABLE files_revision ADD COLUMN search_text text GENERATED ALWAYS AS (
    coalesce(filename, '') || ' ' || coalesce(description, '') || ' ' || coalesce(product_names::text, '')
) STORED;
CREATE INDEX revision_search_text ON files_revision USING gin (search_text gin_trgm_ops);
"""
DROP_SEARCH_TEXT = "ALTER TABLE files_revision DROP COLUMN search_text;"


def add_search_text(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ADD_SEARCH_TEXT)


def drop_search_text(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SEARCH_TEXT)


class Migration(migrations.Migration):
    dependencies = [("files", "0004_onshape_import_and_scanning")]

    operations = [
        migrations.RunPython(add_search_text, drop_search_text, elidable=False),
    ]
