"""Posting time on the ledger. The rules live here and nowhere else.

`transfer_post` guarantees, inside one transaction:
- the same idempotency key never moves minutes twice (the first transfer is returned);
- both accounts are locked in id order, and the limits are checked on the locked rows,
  so concurrent posts can never push an account past its credit limit or maximum;
- exactly two entries are written and they sum to zero; the sum of all balances stays 0.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, Value, When
from django.utils.translation import gettext as _

from ledger.models import MAX_TRANSFER_MINUTES, Account, Entry, LimitChange, Transfer
from members.models import Member


class LedgerError(ValidationError):
    """A posting the ledger refuses; its message is meant for the member."""


def account_for(member: Member) -> Account:
    """The member's account, created if missing (members get one when they sign up;
    this covers members created before the ledger existed)."""
    account, _created = Account.objects.get_or_create(member=member)
    return account


def _hours(minutes: int) -> str:
    sign = "-" if minutes < 0 else ""
    whole, rest = divmod(abs(minutes), 60)
    return f"{sign}{whole} h {rest:02d}" if rest else f"{sign}{whole} h"


def _is_whole(value) -> bool:
    """An int and not a bool (True is an int to Python, never a number of minutes)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _check_amount(minutes) -> int:
    if not _is_whole(minutes):
        raise LedgerError({"minutes": [_("Give a whole number of minutes.")]})
    if minutes <= 0:
        raise LedgerError({"minutes": [_("Give at least one minute.")]})
    if minutes > MAX_TRANSFER_MINUTES:
        raise LedgerError({"minutes": [
            _("One transfer moves at most %(hours)s.") % {"hours": _hours(MAX_TRANSFER_MINUTES)}
        ]})
    return minutes


def _check_member(member: Member, who: str) -> None:
    if not member.is_active:
        raise LedgerError(
            _("%(who)s's account is closed or suspended.") % {"who": who or member.public_name}
        )


def transfer_post(
    *,
    payer: Member,
    payee: Member,
    minutes: int,
    idempotency_key: str,
    note: str = "",
    reference: str = "",
    created_by: Member | None = None,
    _reverses: Transfer | None = None,
) -> Transfer:
    """Move `minutes` from payer to payee. Returns the transfer; when the key was posted
    before, returns that first transfer and moves nothing more. Raises LedgerError (and
    posts nothing) for a bad amount, a transfer to oneself, an inactive member, or a
    balance that would leave its limits."""
    minutes = _check_amount(minutes)
    key = (idempotency_key or "").strip()
    if not key or len(key) > 120:
        raise LedgerError(_("A transfer needs an idempotency key of at most 120 characters."))
    if payer.pk == payee.pk:
        raise LedgerError(_("You cannot send time to yourself."))
    # No look-up of the key before posting: the unique constraint answers it. A replay
    # that fits fails on the insert (IntegrityError below); one that no longer fits looks
    # the key up before refusing. This saves a query on every first posting.
    try:
        with transaction.atomic():
            return _post_locked(payer, payee, minutes, key, note, reference, created_by,
                                _reverses)
    except IntegrityError:
        # The key was posted before, or by another worker at the same moment (our
        # insert waited for its commit): answer with that first transfer.
        existing = Transfer.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise
        return existing


def _lock_accounts(payer: Member, payee: Member) -> dict[int, Account]:
    """Both accounts, locked in id order, keyed by member id, with each member's current
    state read in the same query (a member suspended after being loaded is seen)."""
    query = (
        Account.objects.select_for_update(of=("self",)).select_related("member")
        .filter(member_id__in=[payer.pk, payee.pk]).order_by("pk")
    )
    locked = {account.member_id: account for account in query}
    if len(locked) < 2:
        # Accounts are opened with the member; this covers a member from before the
        # ledger. The row is created, then locked like any other.
        account_for(payer), account_for(payee)
        locked = {account.member_id: account for account in query.all()}
    return locked


def _check_rules(payer, payee, source, target, new_source, new_target, reverses) -> None:
    """Refuse (LedgerError) what the locked rows do not allow."""
    _check_member(source.member, "")
    _check_member(target.member, "")
    # A reversal restores a past state; it may not be blocked by today's limits.
    if reverses is None:
        if new_source < source.credit_limit_minutes:
            raise LedgerError(
                _("Not enough time: this would bring %(who)s to %(balance)s, below the limit of %(limit)s.")
                % {"who": payer.public_name, "balance": _hours(new_source),
                   "limit": _hours(source.credit_limit_minutes)}
            )
        if new_target > target.max_balance_minutes:
            raise LedgerError(
                _("%(who)s cannot receive that much: their balance would pass %(limit)s.")
                % {"who": payee.public_name, "limit": _hours(target.max_balance_minutes)}
            )


def _post_locked(payer, payee, minutes, key, note, reference, created_by, reverses) -> Transfer:
    locked = _lock_accounts(payer, payee)
    source, target = locked[payer.pk], locked[payee.pk]
    new_source = source.balance_minutes - minutes
    new_target = target.balance_minutes + minutes
    try:
        _check_rules(payer, payee, source, target, new_source, new_target, reverses)
    except LedgerError:
        # A key posted before is answered with its transfer, whatever today's balances.
        existing = Transfer.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing
        raise
    transfer = Transfer.objects.create(
        idempotency_key=key, from_account=source, to_account=target, minutes=minutes,
        note=note.strip()[:280], reference=reference[:120], created_by=created_by,
        reverses=reverses,
    )
    Entry.objects.bulk_create([
        Entry(transfer=transfer, account=source, minutes=-minutes, balance_after=new_source,
              created_at=transfer.created_at),
        Entry(transfer=transfer, account=target, minutes=minutes, balance_after=new_target,
              created_at=transfer.created_at),
    ])
    # Both balances in one statement: one round trip fewer per posting.
    Account.objects.filter(pk__in=[source.pk, target.pk]).update(balance_minutes=Case(
        When(pk=source.pk, then=Value(new_source)),
        When(pk=target.pk, then=Value(new_target)),
    ))
    return transfer


def transfer_reverse(*, transfer: Transfer, by: Member | None, reason: str) -> Transfer:
    """Post the opposite of a transfer, naming it. Once only: reversing twice returns the
    first reversal. A reason is required; limits do not block a correction."""
    if not reason.strip():
        raise LedgerError({"reason": [_("Say why the transfer is reversed.")]})
    if transfer.reverses_id is not None:
        raise LedgerError(_("This transfer is itself a reversal; post a new transfer instead."))
    original = Transfer.objects.select_related("from_account__member", "to_account__member").get(
        pk=transfer.pk
    )
    return transfer_post(
        payer=original.to_account.member,
        payee=original.from_account.member,
        minutes=original.minutes,
        idempotency_key=f"reversal:{original.pk}",
        note=reason,
        reference=original.reference,
        created_by=by,
        _reverses=original,
    )


@transaction.atomic
def account_set_limits(
    *, member: Member, credit_limit_minutes: int, max_balance_minutes: int, by: Member | None,
    reason: str,
) -> Account:
    """Change a member's limits (moderators). Logged with who, the old and new values,
    and why. A balance already outside a lowered limit stays; ledger_audit reports it."""
    if not reason.strip():
        raise LedgerError({"reason": [_("Say why the limits change.")]})
    if not _is_whole(credit_limit_minutes) or credit_limit_minutes > 0:
        raise LedgerError({"credit_limit_minutes": [_("The credit limit is zero or below.")]})
    if not _is_whole(max_balance_minutes) or max_balance_minutes < 0:
        raise LedgerError({"max_balance_minutes": [_("The maximum is zero or above.")]})
    account = Account.objects.select_for_update().get(pk=account_for(member).pk)
    LimitChange.objects.create(
        account=account, changed_by=by, reason=reason.strip()[:280],
        old_credit_limit_minutes=account.credit_limit_minutes,
        new_credit_limit_minutes=credit_limit_minutes,
        old_max_balance_minutes=account.max_balance_minutes,
        new_max_balance_minutes=max_balance_minutes,
    )
    account.credit_limit_minutes = credit_limit_minutes
    account.max_balance_minutes = max_balance_minutes
    account.save(update_fields=["credit_limit_minutes", "max_balance_minutes"])
    return account
