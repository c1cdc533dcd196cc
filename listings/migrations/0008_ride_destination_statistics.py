"""Extended statistics on where rides go (PostgreSQL only).

The planner multiplies the selectivities of the four bounding-box conditions of a ride
search as if latitude and longitude were independent; they are not (a destination is a
town: one latitude goes with one longitude). At 100,000 listings it expected 7 rides to
Geneva instead of 3,412, so it sorted every match rather than walking the browse index
in date order and stopping after one page: 88 ms instead of about 1 ms. Multivariate
statistics (most common value pairs, and dependencies with the kind) give it the truth.
ANALYZE fills them (seed_bulk runs it; autovacuum does on a live site).

Origins were tried too and did not help: they are spread over thousands of grid
points, more than a list of most common values holds.
"""

from django.db import migrations

STATISTICS = {
    "listing_destination_stats": ("destination_lat", "destination_lng", "kind"),
}


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("listings", "Listing")._meta.db_table)
    for name, columns in STATISTICS.items():
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {schema_editor.quote_name(name)} "
            f"(mcv, dependencies) ON {', '.join(columns)} FROM {table}"
        )


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in STATISTICS:
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [("listings", "0007_photo_stored_bytes")]

    operations = [migrations.RunPython(create_statistics, drop_statistics)]
