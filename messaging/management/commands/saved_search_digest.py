"""Email members the new listings matching their saved searches (cron, once a day)."""

from django.core.management.base import BaseCommand

from messaging.digests import saved_search_digest_send


class Command(BaseCommand):
    help = ("Send one email per member with the listings that matched their saved "
            "searches (email on) since the last digest; a second run sends nothing.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="Say who would get an email, send nothing, record nothing.")

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        result = saved_search_digest_send(dry_run=dry_run)
        for line in result.details:
            self.stdout.write(line)
        verb = "would email" if dry_run else "emailed"
        self.stdout.write(
            f"{verb} {result.members_emailed} member(s); skipped "
            f"{result.skipped_no_email} without email consent; {result.failed} failed."
        )
