"""Email members the messages they have not read for 15 minutes (cron, every few minutes)."""

from django.core.management.base import BaseCommand

from messaging.digests import unread_digest_send


class Command(BaseCommand):
    help = ("Send one email to each member with messages unread for 15 minutes and no "
            "open page; a second run sends nothing about the same messages.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="Say who would get an email, send nothing, record nothing.")

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        result = unread_digest_send(dry_run=dry_run)
        for line in result.details:
            self.stdout.write(line)
        verb = "would email" if dry_run else "emailed"
        self.stdout.write(
            f"{verb} {result.members_emailed} member(s); skipped {result.skipped_online} "
            f"online, {result.skipped_no_email} without email consent; "
            f"{result.failed} failed."
        )
