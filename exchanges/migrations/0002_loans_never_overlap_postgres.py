"""The no-overlap exclusion constraint, on PostgreSQL only
(see exchanges.models.LOANS_NEVER_OVERLAP)."""

from django.db import migrations


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from exchanges.models import LOANS_NEVER_OVERLAP

    # btree_gist lets a GiST index compare the listing id with "=" beside the ranges;
    # it is a trusted extension, so the database owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.add_constraint(apps.get_model("exchanges", "Exchange"), LOANS_NEVER_OVERLAP)


def remove_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from exchanges.models import LOANS_NEVER_OVERLAP

    schema_editor.remove_constraint(apps.get_model("exchanges", "Exchange"), LOANS_NEVER_OVERLAP)


class Migration(migrations.Migration):
    dependencies = [("exchanges", "0001_initial")]

    operations = [migrations.RunPython(add_constraint, remove_constraint)]
