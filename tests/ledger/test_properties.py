"""Random sequences of transfers (good and bad amounts, repeated keys, suspended
members' neighbours) and reversals: after every step the ledger's invariants hold.

Each hypothesis example runs inside its own transaction.atomic() that is rolled back,
so every example starts from the same five members with empty accounts; the members
come from a function-scoped fixture on purpose (hence the suppressed health check)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.audit import ledger_audit
from ledger.models import Account, Entry, Transfer
from ledger.services import LedgerError, transfer_post, transfer_reverse
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

MEMBERS = 5
amounts = st.one_of(
    st.integers(min_value=1, max_value=700),
    st.sampled_from([0, -5, 6001, 1.5, "90", True, 2400, 6000]),
)
post_op = st.tuples(st.just("post"), st.integers(0, MEMBERS - 1), st.integers(0, MEMBERS - 1),
                    amounts, st.integers(0, 12))
reverse_op = st.tuples(st.just("reverse"), st.integers(0, 50), st.sampled_from(["why", ""]))
operations = st.lists(st.one_of(post_op, post_op, reverse_op), min_size=1, max_size=25)


@pytest.fixture
def five(db):
    return MemberFactory.create_batch(MEMBERS)


def assert_invariants() -> None:
    report = ledger_audit()
    assert report.clean, report.violations
    assert (Account.objects.aggregate(total=Sum("balance_minutes"))["total"] or 0) == 0
    sums = dict(Entry.objects.values_list("account_id").annotate(total=Sum("minutes")))
    for account in Account.objects.all():
        assert account.balance_minutes == sums.get(account.pk, 0)
        outside = not (account.credit_limit_minutes <= account.balance_minutes
                       <= account.max_balance_minutes)
        if outside:  # only a reversal may carry a balance past a limit, and it is noted
            assert any(f"account {account.pk} " in n and "reversal" in n for n in report.notices)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_invariants_hold_after_every_step_of_random_transfers_and_reversals(five, ops):
    with transaction.atomic():
        posted: dict[str, tuple] = {}  # key -> (payer, payee, minutes) of the first post
        for op in ops:
            before = (Transfer.objects.count(), Entry.objects.count())
            if op[0] == "post":
                _kind, i, j, minutes, key_no = op
                key = f"key-{key_no}"
                try:
                    transfer = transfer_post(payer=five[i], payee=five[j], minutes=minutes,
                                             idempotency_key=key)
                except LedgerError:
                    assert (Transfer.objects.count(), Entry.objects.count()) == before
                else:
                    if key in posted:  # a repeated key moves nothing more
                        assert (Transfer.objects.count(), Entry.objects.count()) == before
                        assert (transfer.from_account.member_id, transfer.minutes) == posted[key][::2]
                    else:
                        posted[key] = (five[i].pk, five[j].pk, minutes)
                        assert Transfer.objects.count() == before[0] + 1
            else:
                _kind, index, reason = op
                candidates = list(Transfer.objects.order_by("pk"))
                if not candidates:
                    continue
                target = candidates[index % len(candidates)]
                try:
                    reversal = transfer_reverse(transfer=target, by=None, reason=reason)
                except LedgerError:
                    assert not reason or target.reverses_id is not None
                    assert (Transfer.objects.count(), Entry.objects.count()) == before
                else:
                    assert reason and reversal.reverses_id == target.pk
            assert_invariants()
        transaction.set_rollback(True)
