"""Search that finds what people type (issue 17): accents, case and plurals in English
and French, category names in both languages, hyphenated words, typos.

Replaces 0004's expression index ('simple' configuration, title and description only)
with the schema of listings/search_schema.py: on PostgreSQL a trigger-kept tsvector
column with its GIN index and a trigram-indexed word list; on SQLite an FTS5 table.
"""

from django.db import migrations, models


def fill_search_words(apps, schema_editor):
    from listings.categories import seed_categories

    seed_categories(apps.get_model("listings", "Category"))


def install(apps, schema_editor):
    from listings import search_schema

    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        for statement in search_schema.POSTGRES_INSTALL:
            schema_editor.execute(statement, params=None)  # SQL holds '%'
    # On SQLite the FTS table and its triggers are made after the whole migrate, by
    # ensure_sqlite_search() (post_migrate): a later migration that rebuilds the listing
    # table (SQLite's way to add a column) fails while the triggers are in place.


def uninstall(apps, schema_editor):
    from listings import search_schema

    connection = schema_editor.connection
    statements = {"postgresql": search_schema.POSTGRES_UNINSTALL,
                  "sqlite": search_schema.SQLITE_UNINSTALL}.get(connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement, params=None)  # SQL holds '%'


class Migration(migrations.Migration):
    dependencies = [("listings", "0010_listing_removed_reason")]

    operations = [
        migrations.AddField(
            model_name="category",
            name="search_words",
            field=models.CharField(blank=True, default="", editable=False, max_length=500),
        ),
        migrations.RunPython(fill_search_words, migrations.RunPython.noop),
        migrations.RunPython(install, uninstall),
    ]
