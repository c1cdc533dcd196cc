from django.db import migrations


def seed(apps, schema_editor):
    # Re-running the seed gives every subcategory its own picture (CHILD_ICONS) and the
    # sports category a ball instead of a bike; names and positions stay as they are.
    from listings.categories import seed_categories

    seed_categories(apps.get_model("listings", "Category"))


class Migration(migrations.Migration):
    dependencies = [("listings", "0008_ride_destination_statistics")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
