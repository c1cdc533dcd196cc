"""The barter ledger: time accounts in integer minutes, double-entry and append-only.

Every Transfer writes two Entry rows that sum to zero; an account's stored balance is
the sum of its entries (ledger_audit checks it). Transfers and entries are never updated
or deleted (the model refuses, the admin is read-only); a correction is a new transfer
that reverses the first. The ledger knows members, nothing of listings or exchanges: a
transfer carries an opaque `reference` to what caused it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DEFAULT_CREDIT_LIMIT_MINUTES = -10 * 60
DEFAULT_MAX_BALANCE_MINUTES = 40 * 60
MAX_TRANSFER_MINUTES = 100 * 60


class AppendOnlyError(Exception):
    """Ledger rows are history: they are never changed or deleted."""


class AppendOnlyModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("_allow_update", False):
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only")


class Account(models.Model):
    """A member's time account. Created with the member, so the row always exists to be
    locked before anything is posted to it. An empty account goes with its member; one
    with history cannot (its entries and transfers are protected), so a member who traded
    time is anonymised, never deleted."""

    member = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_account"
    )
    balance_minutes = models.IntegerField(default=0)
    credit_limit_minutes = models.IntegerField(default=DEFAULT_CREDIT_LIMIT_MINUTES)
    max_balance_minutes = models.IntegerField(default=DEFAULT_MAX_BALANCE_MINUTES)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("time account")
        verbose_name_plural = _("time accounts")
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit_minutes__lte=0),
                                   name="account_credit_limit_not_positive"),
            models.CheckConstraint(condition=Q(max_balance_minutes__gte=0),
                                   name="account_max_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.member} ({self.balance_minutes} min)"


class Transfer(AppendOnlyModel):
    """Minutes moved from one account to another, once per idempotency key."""

    idempotency_key = models.CharField(max_length=120, unique=True)
    from_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    to_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    minutes = models.PositiveIntegerField()
    note = models.CharField(max_length=280, blank=True)
    # What caused it, opaque to the ledger: "exchange:42", "gift", ...
    reference = models.CharField(max_length=120, blank=True, db_index=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gt=0) & Q(minutes__lte=MAX_TRANSFER_MINUTES),
                                   name="transfer_minutes_in_range"),
            models.CheckConstraint(condition=~Q(from_account=F("to_account")),
                                   name="transfer_not_to_oneself"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}: {self.minutes} min {self.from_account_id} → {self.to_account_id}"


class Entry(AppendOnlyModel):
    """One line of a transfer: minus on the giving account, plus on the receiving one.
    `balance_after` makes statements with a running balance a single query."""

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    minutes = models.IntegerField()
    balance_after = models.IntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("entry")
        verbose_name_plural = _("entries")
        indexes = [models.Index(fields=["account", "created_at", "id"], name="entry_statement_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(minutes=0), name="entry_not_zero"),
            models.UniqueConstraint(fields=["transfer", "account"], name="entry_one_per_side"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.minutes:+d} min"


class LimitChange(AppendOnlyModel):
    """Who changed a member's limits, when, from what to what, and why."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="limit_changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    old_credit_limit_minutes = models.IntegerField()
    new_credit_limit_minutes = models.IntegerField()
    old_max_balance_minutes = models.IntegerField()
    new_max_balance_minutes = models.IntegerField()
    reason = models.CharField(max_length=280)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("limit change")
        verbose_name_plural = _("limit changes")

    def __str__(self) -> str:
        return f"{self.account}: {self.reason}"
