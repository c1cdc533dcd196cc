"""Let time move deals on: expire unanswered requests, remind overdue borrowers, and
confirm service trades whose receiver did not answer within 7 days of the time being
recorded (which posts their ledger transfer, once: a completed trade cannot complete again).

It also runs the reviews step (reviews_publish): missed review windows opened, last
reminders sent, reviews published when their 14 days are over.

Run it from cron (every few minutes is fine, at least daily). It is idempotent: a
request expires once, and a borrower gets at most one reminder a day (the services
store the day of the last reminder), so running it twice does nothing more.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from exchanges import services
from exchanges.models import Exchange


def _ids(exchanges) -> str:
    return ", ".join(f"#{pk}" for pk in sorted(e.pk for e in exchanges))


def _sentence(verb: str, noun: str, nouns: str, exchanges: list) -> str:
    count = len(exchanges)
    if not count:
        return f"{verb} no {nouns}."
    return f"{verb} {count} {noun if count == 1 else nouns}: {_ids(exchanges)}."


class Command(BaseCommand):
    help = ("Expire requests with no answer in time, remind borrowers of overdue loans and "
            "confirm unanswered service trades.")

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true",
            help="Say what would be done, change nothing and send nothing.",
        )

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        if dry_run:
            expired, reminded, confirmed = self._due()
            verbs = ("Would expire", "Would remind", "Would confirm")
        else:
            expired = services.expire_due_requests()
            reminded = services.remind_overdue_loans()
            confirmed = services.confirm_due_service_trades()
            verbs = ("Expired", "Reminded", "Confirmed")
        sentences = [
            _sentence(verbs[0], "request", "requests", expired),
            _sentence(verbs[1], "overdue loan", "overdue loans", reminded),
        ]
        # Said only when there is one, so the usual report stays as it was.
        if confirmed:
            sentences.append(_sentence(verbs[2], "service trade", "service trades", confirmed))
        # Reviews open, remind and publish on the same clock (after the confirmations
        # above, so a trade confirmed now gets its window in this run).
        from reviews.management.commands import reviews_publish

        reviews_report = reviews_publish.due() if dry_run else reviews_publish.run()
        if reviews_report:
            sentences.append(reviews_report)
        self.stdout.write(" ".join(sentences))

    def _due(self) -> tuple[list[Exchange], list[Exchange], list[Exchange]]:
        # The same selection the services act on, read only.
        return (list(services.requests_due()), list(services.loans_due_for_reminder()),
                list(services.service_trades_due()))
