"""Forget the one-time tokens of creation forms sent more than 30 days ago (core/once.py).
Idempotent: running it twice, or on two machines, does nothing more."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from core import once


class Command(BaseCommand):
    help = "Forget the one-time tokens of creation forms sent more than 30 days ago."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=once.KEEP_DAYS)

    def handle(self, *args, days: int, **options) -> None:
        if days < 1:
            self.stderr.write("--days must be at least 1.")
            raise SystemExit(2)
        count = once.submissions_purge(older_than_days=days)
        if count:
            self.stdout.write(f"Forgot {count} form token{'s' if count != 1 else ''}.")
