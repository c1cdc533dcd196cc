"""`manage.py ledger_audit`: check every invariant of the ledger; exit 1 on a violation."""

from django.core.management.base import BaseCommand, CommandError

from ledger.audit import ledger_audit


class Command(BaseCommand):
    help = "Check that the time ledger balances; exits non-zero on the first violation found."

    def handle(self, *args, **options) -> None:
        report = ledger_audit()
        for notice in report.notices:
            self.stdout.write(f"notice: {notice}")
        if not report.clean:
            for violation in report.violations:
                self.stderr.write(f"VIOLATION: {violation}")
            raise CommandError(f"ledger audit failed: {len(report.violations)} violation(s)")
        self.stdout.write(self.style.SUCCESS(
            f"Ledger clean: {report.transfers} transfers, {report.accounts} accounts, "
            "balances sum to 0."
        ))
