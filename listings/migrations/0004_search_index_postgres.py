"""The full-text GIN index, on PostgreSQL only (replaced by migration 0009's)."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

# Kept here as it was built: the models no longer define it.
SEARCH_INDEX = GinIndex(SearchVector("title", "description", config="simple"),
                        name="listing_search_gin")


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.add_index(apps.get_model("listings", "Listing"), SEARCH_INDEX)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.remove_index(apps.get_model("listings", "Listing"), SEARCH_INDEX)


class Migration(migrations.Migration):
    dependencies = [("listings", "0003_seed_categories")]

    operations = [migrations.RunPython(create_index, drop_index)]
