"""Posting time on the ledger. The rules live here and nowhere else.

`transfer_post` guarantees, inside one transaction:
- the same idempotency key never moves minutes twice (the first transfer is returned);
- both accounts are locked in id order, and the limits are checked on the locked rows,
  so concurrent posts can never push an account past its credit limit or maximum;
- exactly two entries are written and they sum to zero; the sum of all balances stays 0.

On PostgreSQL an ordinary posting is one SQL statement (see `_post_in_one_statement`):
the same lock, the same checks on the locked rows, the same rows written, in one round
trip. Anything it does not post (a refusal, a replayed key, an account not opened yet)
goes through the ORM path below, which is the reference for every rule and the only
path on SQLite.

`transfers_post` posts several transfers as one movement (a swap of services): all or
none, the limits checked on the balances after all of them.

The idempotency-key prefix "reversal:" belongs to `transfer_reverse`: ordinary postings
cannot use it, so no posting can ever take the place of a correction.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger.models import MAX_TRANSFER_MINUTES, Account, Entry, LimitChange, Transfer
from members.models import Member

# Keys of this shape are written by transfer_reverse only.
REVERSAL_KEY_PREFIX = "reversal:"


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
    key = _check_key(idempotency_key, reversal=_reverses is not None)
    if payer.pk == payee.pk:
        raise LedgerError(_("You cannot send time to yourself."))
    note, reference = note.strip()[:280], reference[:120]
    if _reverses is None and _fast_path_available():
        try:
            posted = _post_in_one_statement(payer, payee, minutes, key, note, reference,
                                            created_by)
        except IntegrityError:
            posted = None
        if posted is not None:
            return posted
        # Refused, replayed or not openable in one statement: the ORM path below says
        # which, with the member's message, or finds the first transfer of the key.
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


def _check_key(idempotency_key, *, reversal: bool) -> str:
    key = (idempotency_key or "").strip() if isinstance(idempotency_key, str) else ""
    if not key or len(key) > 120:
        raise LedgerError(_("A transfer needs an idempotency key of at most 120 characters."))
    if not reversal and key.lower().startswith(REVERSAL_KEY_PREFIX):
        raise LedgerError(
            _("Idempotency keys starting with “%(prefix)s” are kept for reversals.")
            % {"prefix": REVERSAL_KEY_PREFIX}
        )
    return key


def _fast_path_available() -> bool:
    return connection.vendor == "postgresql"


# One statement: lock both accounts in id order (FOR UPDATE; under READ COMMITTED a row
# another posting changed meanwhile is re-read once its lock is released, so the checks
# below see the committed balance), check both members are active and both limits on
# those locked rows, insert the transfer (a key posted before inserts nothing: ON
# CONFLICT), its two entries and the two new balances, all keyed on the inserted
# transfer. When any check fails or the key exists, nothing is written and no row comes
# back. A single statement is atomic on its own, so outside a transaction it needs no
# BEGIN/COMMIT round trips.
_POST_SQL = """
WITH locked AS MATERIALIZED (
    SELECT a.id, a.member_id, a.balance_minutes, a.credit_limit_minutes,
           a.max_balance_minutes, m.is_active
    FROM {account} a JOIN {member} m ON m.id = a.member_id
    WHERE a.member_id IN (%(payer)s, %(payee)s)
    ORDER BY a.id
    FOR UPDATE OF a
),
fits AS MATERIALIZED (
    SELECT s.id AS source_id, t.id AS target_id,
           s.balance_minutes - %(minutes)s AS new_source,
           t.balance_minutes + %(minutes)s AS new_target
    FROM locked s, locked t
    WHERE s.member_id = %(payer)s AND t.member_id = %(payee)s
      AND s.is_active AND t.is_active
      AND s.balance_minutes - %(minutes)s >= s.credit_limit_minutes
      AND t.balance_minutes + %(minutes)s <= t.max_balance_minutes
),
transfer AS (
    INSERT INTO {transfer} (idempotency_key, from_account_id, to_account_id, minutes,
                                 note, reference, created_by_id, created_at)
    SELECT %(key)s, source_id, target_id, %(minutes)s, %(note)s, %(reference)s,
           %(created_by)s, %(now)s
    FROM fits
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id
),
lines AS (
    INSERT INTO {entry} (transfer_id, account_id, minutes, balance_after, created_at)
    SELECT transfer.id, fits.source_id, -%(minutes)s, fits.new_source, %(now)s
    FROM transfer, fits
    UNION ALL
    SELECT transfer.id, fits.target_id, %(minutes)s, fits.new_target, %(now)s
    FROM transfer, fits
),
balances AS (
    UPDATE {account} a
    SET balance_minutes = CASE WHEN a.id = fits.source_id THEN fits.new_source
                               ELSE fits.new_target END
    FROM fits, transfer
    WHERE a.id IN (fits.source_id, fits.target_id)
)
SELECT transfer.id, fits.source_id, fits.target_id FROM transfer, fits
""".format_map({"account": Account._meta.db_table, "member": Member._meta.db_table,
               "transfer": Transfer._meta.db_table, "entry": Entry._meta.db_table})


def _post_in_one_statement(payer, payee, minutes, key, note, reference, created_by) -> Transfer | None:
    """The transfer posted by _POST_SQL, or None when it posted nothing."""
    now = timezone.now()
    params = {"payer": payer.pk, "payee": payee.pk, "minutes": minutes, "key": key,
              "note": note, "reference": reference, "now": now,
              "created_by": created_by.pk if created_by is not None else None}
    # Inside a caller's transaction, a savepoint keeps a failed statement from breaking it.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with guard, connection.cursor() as cursor:
        cursor.execute(_POST_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    transfer_id, source_id, target_id = row
    # Built from what was written, without reading it back.
    transfer = Transfer(
        pk=transfer_id, idempotency_key=key, from_account_id=source_id,
        to_account_id=target_id, minutes=minutes, note=note, reference=reference,
        created_by=created_by, created_at=now,
    )
    transfer._state.adding = False
    transfer._state.db = connection.alias
    return transfer


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


def _may_pay(account: Account) -> int:
    """How many minutes may leave the account before its balance passes its credit
    limit (the limit rule, for one side)."""
    return account.balance_minutes - account.credit_limit_minutes


def _may_receive(account: Account) -> int:
    """How many minutes may reach the account before its balance passes its maximum."""
    return account.max_balance_minutes - account.balance_minutes


def transfer_room(*, payer: Member, payee: Member, coming_back: int = 0) -> int:
    """The most minutes one transfer from payer to payee may move now under both
    accounts' limits and the largest transfer (0 when none); `coming_back` minutes
    moving the other way in the same movement (transfers_post) count first. A read,
    without locks: what a form may offer; the posting checks again on the locked rows."""
    accounts = {account.member_id: account
                for account in Account.objects.filter(member_id__in=[payer.pk, payee.pk])}
    source = accounts.get(payer.pk) or Account(member=payer)
    target = accounts.get(payee.pk) or Account(member=payee)
    return max(0, min(MAX_TRANSFER_MINUTES, _may_pay(source) + coming_back,
                      _may_receive(target) + coming_back))


def _check_rules(payer, payee, source, target, new_source, new_target, reverses) -> None:
    """Refuse (LedgerError) what the locked rows do not allow."""
    # A reversal restores a past state: neither a suspended or closed member nor today's
    # limits may block a correction.
    if reverses is None:
        _check_member(source.member, "")
        _check_member(target.member, "")
        minutes = source.balance_minutes - new_source
        if minutes > _may_pay(source):
            raise _below_limit(payer, new_source, source.credit_limit_minutes)
        if minutes > _may_receive(target):
            raise _above_limit(payee, target.max_balance_minutes)


def _below_limit(member: Member, balance: int, limit: int) -> LedgerError:
    return LedgerError(
        _("Not enough time: this would bring %(who)s to %(balance)s, below the limit of %(limit)s.")
        % {"who": member.public_name, "balance": _hours(balance), "limit": _hours(limit)}
    )


def _above_limit(member: Member, limit: int) -> LedgerError:
    return LedgerError(
        _("%(who)s cannot receive that much: their balance would pass %(limit)s.")
        % {"who": member.public_name, "limit": _hours(limit)}
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
        note=note, reference=reference, created_by=created_by, reverses=reverses,
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
    first reversal. A reason is required.

    Corrections must always remain possible, so neither today's limits nor the state of
    the members blocks a reversal: it posts even when either member is suspended or their
    account closed (is_active False). This is safe because a suspended member still
    cannot move time themselves (every ordinary posting checks both members are active),
    and the reversal is logged with who made it (`by`, the moderator) and why. Its key,
    "reversal:<id>", is reserved: no ordinary posting can use the prefix."""
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


@dataclass(frozen=True)
class Posting:
    """One transfer of a batch posted by transfers_post."""

    payer: Member
    payee: Member
    minutes: int
    idempotency_key: str
    note: str = ""
    reference: str = ""


def transfers_post(*, postings: Sequence[Posting], created_by: Member | None = None) -> list[Transfer]:
    """Post several transfers as one movement (a swap of services: one each way) and
    return them in the order given. Guarantees, in one transaction:
    - all of them or none: any refusal (LedgerError) posts nothing;
    - each key moves minutes once: a key posted before is answered with its transfer, the
      others are posted; a replay of the whole batch moves nothing;
    - every account involved is locked in id order and both members of each new transfer
      must be active;
    - the limits are checked on the locked rows against the balances after the whole
      batch, so a swap that evens out is never refused because of the order its lines are
      written in: an account may only end below its credit limit (or above its maximum)
      if the batch did not move it further that way. The entries keep the running
      balance in the order given, and every transfer writes two lines summing to zero."""
    if not postings:
        raise LedgerError(_("Nothing to post."))
    checked = []
    for posting in postings:
        minutes = _check_amount(posting.minutes)
        key = _check_key(posting.idempotency_key, reversal=False)
        if posting.payer.pk == posting.payee.pk:
            raise LedgerError(_("You cannot send time to yourself."))
        checked.append((posting, minutes, key))
    keys = [key for _posting, _minutes, key in checked]
    if len(set(keys)) != len(keys):
        raise LedgerError(_("Each transfer of a batch needs its own idempotency key."))
    try:
        with transaction.atomic():
            return _post_batch_locked(checked, keys, created_by)
    except IntegrityError:
        # Another worker posted the same keys meanwhile: answer with its transfers.
        existing = {t.idempotency_key: t for t in Transfer.objects.filter(idempotency_key__in=keys)}
        if len(existing) != len(keys):
            raise
        return [existing[key] for key in keys]


def _post_batch_locked(checked, keys: list[str], created_by: Member | None) -> list[Transfer]:
    member_ids = sorted({p.payer.pk for p, _m, _k in checked} | {p.payee.pk for p, _m, _k in checked})
    query = (
        Account.objects.select_for_update(of=("self",)).select_related("member")
        .filter(member_id__in=member_ids).order_by("pk")
    )
    locked = {account.member_id: account for account in query}
    if len(locked) < len(member_ids):
        for member_id in member_ids:
            Account.objects.get_or_create(member_id=member_id)
        locked = {account.member_id: account for account in query.all()}
    # Read under the locks: a concurrent batch with the same keys has committed or not.
    existing = {t.idempotency_key: t for t in Transfer.objects.filter(idempotency_key__in=keys)}
    todo = [(p, m, k) for p, m, k in checked if k not in existing]
    net: dict[int, int] = {}
    for posting, minutes, _key in todo:
        _check_member(locked[posting.payer.pk].member, "")
        _check_member(locked[posting.payee.pk].member, "")
        net[posting.payer.pk] = net.get(posting.payer.pk, 0) - minutes
        net[posting.payee.pk] = net.get(posting.payee.pk, 0) + minutes
    for member_id, change in net.items():
        account = locked[member_id]
        after = account.balance_minutes + change
        if change < 0 and -change > _may_pay(account):
            raise _below_limit(account.member, after, account.credit_limit_minutes)
        if change > 0 and change > _may_receive(account):
            raise _above_limit(account.member, account.max_balance_minutes)
    running = {member_id: account.balance_minutes for member_id, account in locked.items()}
    now = timezone.now()
    posted = dict(existing)
    for posting, minutes, key in todo:
        source, target = locked[posting.payer.pk], locked[posting.payee.pk]
        running[posting.payer.pk] -= minutes
        running[posting.payee.pk] += minutes
        transfer = Transfer.objects.create(
            idempotency_key=key, from_account=source, to_account=target, minutes=minutes,
            note=posting.note.strip()[:280], reference=posting.reference[:120],
            created_by=created_by, created_at=now,
        )
        Entry.objects.bulk_create([
            Entry(transfer=transfer, account=source, minutes=-minutes,
                  balance_after=running[posting.payer.pk], created_at=now),
            Entry(transfer=transfer, account=target, minutes=minutes,
                  balance_after=running[posting.payee.pk], created_at=now),
        ])
        posted[key] = transfer
    if net:
        Account.objects.filter(member_id__in=list(net)).update(balance_minutes=Case(
            *[When(member_id=member_id, then=Value(running[member_id])) for member_id in net]
        ))
    return [posted[key] for key in keys]


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
