from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_group(apps, schema_editor):
    from moderation.permissions import sync_moderators_group

    # Permissions are normally made after migrate; make them now for the apps migrated
    # so far, so the group gets them at once (post_migrate completes it later).
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    sync_moderators_group(apps)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Moderators").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("moderation", "0001_reports_actions_warnings"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("ledger", "0001_initial"),
        ("exchanges", "0005_payments"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
