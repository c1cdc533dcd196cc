"""Every invariant of the ledger, checked from the rows themselves."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, F, Q, Sum

from ledger.models import Account, Entry, LimitChange, Transfer


@dataclass
class AuditReport:
    violations: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    transfers: int = 0
    accounts: int = 0

    @property
    def clean(self) -> bool:
        return not self.violations


def ledger_audit() -> AuditReport:
    """Each transfer has two lines summing to zero; all balances sum to zero; each stored
    balance equals the sum of its lines; no balance is outside its limits (a limit lowered
    after the fact, or a reversal that carried the balance past a limit, is a notice, not a
    violation); idempotency keys are unique."""
    report = AuditReport(transfers=Transfer.objects.count(), accounts=Account.objects.count())

    unbalanced = (
        Entry.objects.values("transfer_id")
        .annotate(total=Sum("minutes"), lines=Count("id"))
        .exclude(total=0, lines=2)
        .order_by("transfer_id")[:20]
    )
    for row in unbalanced:
        report.violations.append(
            f"transfer {row['transfer_id']}: {row['lines']} lines summing to {row['total']} min"
        )
    orphans = Transfer.objects.annotate(lines=Count("entries")).filter(lines=0).count()
    if orphans:
        report.violations.append(f"{orphans} transfer(s) without any line")

    total = Account.objects.aggregate(total=Sum("balance_minutes"))["total"] or 0
    if total != 0:
        report.violations.append(f"all balances sum to {total} min, not 0")

    sums = dict(Entry.objects.values_list("account_id").annotate(total=Sum("minutes")))
    for account in Account.objects.select_related("member").order_by("pk"):
        expected = sums.get(account.pk, 0)
        if account.balance_minutes != expected:
            report.violations.append(
                f"account {account.pk} ({account.member}): stored {account.balance_minutes} min, "
                f"lines sum to {expected} min"
            )
        outside = (account.balance_minutes < account.credit_limit_minutes
                   or account.balance_minutes > account.max_balance_minutes)
        if outside:
            lowered = LimitChange.objects.filter(account=account).filter(
                Q(new_credit_limit_minutes__gt=F("old_credit_limit_minutes"))
                | Q(new_max_balance_minutes__lt=F("old_max_balance_minutes"))
            ).exists()
            # A reversal is allowed past the limits (a correction must not be blocked), so
            # a balance it carried outside them is explained, like a lowered limit.
            reversed_out = Entry.objects.filter(
                account=account, transfer__reverses__isnull=False
            ).filter(
                Q(balance_after__lt=account.credit_limit_minutes)
                | Q(balance_after__gt=account.max_balance_minutes)
            ).exists()
            message = (
                f"account {account.pk} ({account.member}): balance {account.balance_minutes} min "
                f"outside [{account.credit_limit_minutes}, {account.max_balance_minutes}]"
            )
            if lowered:
                report.notices.append(message + " (a limit was changed later)")
            elif reversed_out:
                report.notices.append(message + " (a reversal took it there)")
            else:
                report.violations.append(message)

    duplicates = (
        Transfer.objects.values("idempotency_key").annotate(n=Count("id")).filter(n__gt=1)[:5]
    )
    for row in duplicates:
        report.violations.append(f"idempotency key {row['idempotency_key']!r} used {row['n']} times")
    return report


