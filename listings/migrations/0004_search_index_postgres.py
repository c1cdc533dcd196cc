"""The full-text GIN index, on PostgreSQL only (see listings.models.SEARCH_INDEX)."""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from listings.models import SEARCH_INDEX

    schema_editor.add_index(apps.get_model("listings", "Listing"), SEARCH_INDEX)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from listings.models import SEARCH_INDEX

    schema_editor.remove_index(apps.get_model("listings", "Listing"), SEARCH_INDEX)


class Migration(migrations.Migration):
    dependencies = [("listings", "0003_seed_categories")]

    operations = [migrations.RunPython(create_index, drop_index)]
