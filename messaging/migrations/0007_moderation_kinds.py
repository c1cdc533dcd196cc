# Written for the moderation kinds (report_received, report_handled, member_warned).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0006_socket_presence'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='notification',
            name='notification_kind_known',
        ),
        migrations.AlterField(
            model_name='notification',
            name='kind',
            field=models.CharField(choices=[('exchange_requested', 'Request received'), ('exchange_accepted', 'Request accepted'), ('exchange_declined', 'Request declined'), ('exchange_cancelled', 'Request withdrawn'), ('exchange_called_off', 'Deal cancelled'), ('exchange_expired', 'Request expired'), ('exchange_paid', 'Payment received'), ('exchange_started', 'Hand-over confirmed'), ('exchange_completed', 'Exchange completed'), ('exchange_disputed', 'Problem reported'), ('loan_overdue', 'Loan overdue'), ('extension_requested', 'More days asked'), ('extension_accepted', 'Loan extended'), ('extension_declined', 'More days declined'), ('service_time_recorded', 'Time to confirm'), ('review_invited', 'Review your exchange'), ('review_reminder', 'Review window closing'), ('review_published', 'New review'), ('review_replied', 'Reply to your review'), ('saved_search_match', 'New listing for your search'), ('report_received', 'Report received'), ('report_handled', 'Report handled'), ('member_warned', 'Warning from the moderators')], max_length=32, verbose_name='kind'),
        ),
        migrations.AddConstraint(
            model_name='notification',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['exchange_requested', 'exchange_accepted', 'exchange_declined', 'exchange_cancelled', 'exchange_called_off', 'exchange_expired', 'exchange_paid', 'exchange_started', 'exchange_completed', 'exchange_disputed', 'loan_overdue', 'extension_requested', 'extension_accepted', 'extension_declined', 'service_time_recorded', 'review_invited', 'review_reminder', 'review_published', 'review_replied', 'saved_search_match', 'report_received', 'report_handled', 'member_warned'])), name='notification_kind_known'),
        ),
    ]
