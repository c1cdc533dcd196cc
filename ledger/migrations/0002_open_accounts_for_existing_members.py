from django.db import migrations


def open_accounts(apps, schema_editor):
    Member = apps.get_model("members", "Member")
    Account = apps.get_model("ledger", "Account")
    Account.objects.bulk_create(
        [Account(member_id=pk) for pk in Member.objects.filter(time_account__isnull=True).values_list("pk", flat=True)],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial"), ("members", "0001_initial")]

    operations = [migrations.RunPython(open_accounts, migrations.RunPython.noop)]
