"""What exchanges tell the rest of the site. Sent after the transaction commits, so a
receiver (notifications, emails, live pushes) never sees a change that rolled back.

exchange_changed(sender=Exchange, exchange, event, actor)
loan_overdue(sender=Exchange, exchange, days_late)
"""

from django.dispatch import Signal

exchange_changed = Signal()
loan_overdue = Signal()
