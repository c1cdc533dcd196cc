"""Open the review windows a completion missed, remind members whose window closes
within 3 days, and publish the reviews whose 14 days are over.

Called by exchanges_tick; runs on its own too. Idempotent: each window is opened once,
reminded once and published once (the window row records each), so running it twice
does nothing more.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from reviews import services


def run() -> str:
    """Do the work; return one sentence for each thing done ("" when nothing was)."""
    opened = services.review_windows_open_missing()
    reminded = services.reviews_remind_due()
    published = services.reviews_publish_due()
    sentences = []
    if opened:
        sentences.append(f"Opened {len(opened)} review window{'s' if len(opened) != 1 else ''}.")
    if reminded:
        sentences.append(
            f"Reminded the parties of {len(reminded)} exchange{'s' if len(reminded) != 1 else ''} "
            "to review."
        )
    if published:
        sentences.append(f"Published {len(published)} review{'s' if len(published) != 1 else ''}.")
    return " ".join(sentences)


def due() -> str:
    """What run() would do, read only."""
    counts = (
        ("review window to open", "review windows to open", services.completed_without_window().count()),
        ("exchange to remind", "exchanges to remind", services.windows_due_for_reminder().count()),
        ("review window to close", "review windows to close",
         services.windows_due_for_publication().count()),
    )
    return " ".join(f"Would handle {n} {one if n == 1 else many}." for one, many, n in counts if n)


class Command(BaseCommand):
    help = "Open missed review windows, send the last reminders and publish reviews that are due."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="Say what would be done, change nothing and send nothing.")

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        report = due() if dry_run else run()
        self.stdout.write(report or "Nothing to do for reviews.")
