"""`manage.py seed_demo [--once]`: the demo town of Annecy (see listings/demo.py)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from listings import demo


class Command(BaseCommand):
    help = (
        "Create the demo members and listings in Annecy. Safe to run again: what already "
        "exists is left untouched."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--once", action="store_true",
            help="Do nothing if the demo member alice@example.com already exists "
                 "(fast restarts of `make run`).",
        )

        parser.add_argument(
            "--force", action="store_true",
            help="Seed even though DEBUG is off (never on a live site: the demo accounts "
                 "share a published password).",
        )

    def handle(self, *args, once: bool = False, force: bool = False, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to create demo accounts with a known password while DEBUG is off. "
                "Use `make run` (DEBUG=true), or --force on a throwaway database."
            )
        if once and demo.demo_exists():
            self.stdout.write("Demo data already there.")
            self._print_logins()
            return
        started = time.monotonic()
        try:
            report = demo.seed_demo()
        except LookupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(
            f"Demo data ready in {time.monotonic() - started:.1f} s: "
            f"members {report.members_created} created, {report.members_existing} existing; "
            f"listings {report.listings_created} created, {report.listings_existing} existing; "
            f"{report.photos_created} photos drawn."
        ))
        self._print_logins()

    def _print_logins(self) -> None:
        self.stdout.write("Demo logins:")
        for email in demo.DEMO_LOGINS:
            self.stdout.write(f"  {email} / {demo.DEMO_PASSWORD}")
