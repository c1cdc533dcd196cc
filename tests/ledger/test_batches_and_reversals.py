"""Several transfers posted as one movement (transfers_post: a swap of services), the
reserved "reversal:" key prefix, and reversals involving a suspended or closed member."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger.audit import ledger_audit
from ledger.models import Account, Entry, LimitChange, Transfer
from ledger.services import (
    LedgerError,
    Posting,
    account_set_limits,
    transfer_post,
    transfer_reverse,
    transfers_post,
)
from members.models import Member
from tests.factories import MemberFactory
from tests.threads import in_own_connection

pytestmark = pytest.mark.django_db


def balance(member) -> int:
    return Account.objects.get(member=member).balance_minutes


def snapshot() -> tuple:
    return (Transfer.objects.count(), Entry.objects.count(),
            tuple(Account.objects.order_by("pk").values_list("balance_minutes", flat=True)))


def pair(alice, bob, there=90, back=120, keys=("swap:1:a", "swap:1:b")) -> list[Posting]:
    return [Posting(payer=alice, payee=bob, minutes=there, idempotency_key=keys[0], note="mow"),
            Posting(payer=bob, payee=alice, minutes=back, idempotency_key=keys[1], note="sit")]


# --- batches -------------------------------------------------------------------------------


def test_a_batch_posts_every_transfer_with_its_own_lines(alice, bob):
    there, back = transfers_post(postings=pair(alice, bob), created_by=alice)
    assert (there.minutes, there.note, back.minutes, back.note) == (90, "mow", 120, "sit")
    assert there.created_by == back.created_by == alice
    assert (balance(alice), balance(bob)) == (30, -30)
    # The lines keep the running balance in the order given.
    assert list(Entry.objects.filter(account__member=alice).values_list("minutes", "balance_after")) == [
        (-90, -90), (120, 30)]
    assert ledger_audit().clean


def test_a_replayed_batch_returns_the_same_transfers_and_moves_nothing(alice, bob):
    first = transfers_post(postings=pair(alice, bob))
    again = transfers_post(postings=pair(alice, bob))
    assert [t.pk for t in again] == [t.pk for t in first]
    assert Transfer.objects.count() == 2 and (balance(alice), balance(bob)) == (30, -30)


def test_a_key_posted_before_is_answered_and_only_the_others_posted(alice, bob):
    alone = transfer_post(payer=alice, payee=bob, minutes=90, idempotency_key="swap:1:a")
    there, back = transfers_post(postings=pair(alice, bob))
    assert there.pk == alone.pk and Transfer.objects.count() == 2
    assert (balance(alice), balance(bob)) == (30, -30)


def test_over_a_limit_nothing_of_the_batch_is_posted(alice, bob):
    account_set_limits(member=bob, credit_limit_minutes=0, max_balance_minutes=2400,
                       by=None, reason="Test")
    before = snapshot()
    with pytest.raises(LedgerError, match="Not enough time: this would bring Bob to -0 h 30"):
        transfers_post(postings=pair(alice, bob))
    assert snapshot() == before


def test_over_a_maximum_nothing_of_the_batch_is_posted(alice, bob):
    account_set_limits(member=alice, credit_limit_minutes=-600, max_balance_minutes=10,
                       by=None, reason="Test")
    before = snapshot()
    with pytest.raises(LedgerError, match="Alice cannot receive that much"):
        transfers_post(postings=pair(alice, bob))
    assert snapshot() == before


def test_limits_apply_to_the_balances_after_the_whole_batch(alice, bob):
    for member in (alice, bob):
        account_set_limits(member=member, credit_limit_minutes=0, max_balance_minutes=0,
                           by=None, reason="Test")
    transfers_post(postings=pair(alice, bob, there=60, back=60))
    assert (balance(alice), balance(bob)) == (0, 0)
    assert ledger_audit().clean


def test_a_suspended_member_refuses_the_whole_batch(alice, bob):
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    before = snapshot()
    with pytest.raises(LedgerError, match="Bob's account is closed or suspended"):
        transfers_post(postings=pair(alice, bob))
    assert snapshot() == before


@pytest.mark.parametrize(("postings", "message"), [
    (lambda a, b: [], "Nothing to post"),
    (lambda a, b: pair(a, b, keys=("same", "same")), "its own idempotency key"),
    (lambda a, b: pair(a, b, back=0), "at least one minute"),
    (lambda a, b: pair(a, b, back=6001), "at most 100 h"),
    (lambda a, b: [Posting(payer=a, payee=a, minutes=5, idempotency_key="self")], "yourself"),
    (lambda a, b: pair(a, b, keys=("x", "reversal:9")), "kept for reversals"),
])
def test_a_bad_batch_is_refused_whole(alice, bob, postings, message):
    before = snapshot()
    with pytest.raises(LedgerError, match=message):
        transfers_post(postings=postings(alice, bob))
    assert snapshot() == before


# --- the reserved reversal prefix ----------------------------------------------------------------


@pytest.mark.parametrize("key", ["reversal:1", "reversal:anything", "  reversal:7", "REVERSAL:3"])
def test_ordinary_postings_cannot_use_the_reversal_prefix(alice, bob, key):
    before = snapshot()
    with pytest.raises(LedgerError, match="kept for reversals"):
        transfer_post(payer=alice, payee=bob, minutes=30, idempotency_key=key)
    assert snapshot() == before


def test_a_key_merely_containing_the_word_is_fine(alice, bob):
    assert transfer_post(payer=alice, payee=bob, minutes=30, idempotency_key="no-reversal:1")


def test_a_reversal_still_uses_its_reserved_key(alice, bob):
    original = transfer_post(payer=alice, payee=bob, minutes=30, idempotency_key="k")
    reversal = transfer_reverse(transfer=original, by=None, reason="mistake")
    assert reversal.idempotency_key == f"reversal:{original.pk}"


# --- reversals and suspended members -------------------------------------------------------


@pytest.mark.parametrize("who", ["payer", "payee", "both"])
def test_a_moderator_reverses_even_when_a_member_is_suspended(alice, bob, who):
    """Corrections must remain possible: a reversal posts whatever became of the members."""
    moderator = MemberFactory(is_staff=True)
    original = transfer_post(payer=alice, payee=bob, minutes=90, idempotency_key="k")
    suspended = {"payer": [alice], "payee": [bob], "both": [alice, bob]}[who]
    Member.objects.filter(pk__in=[m.pk for m in suspended]).update(is_active=False)
    reversal = transfer_reverse(transfer=original, by=moderator, reason="Fraud")
    assert reversal.reverses_id == original.pk and reversal.created_by == moderator
    assert (balance(alice), balance(bob)) == (0, 0)
    assert ledger_audit().clean


def test_a_suspended_member_still_cannot_move_the_time_given_back(alice, bob):
    original = transfer_post(payer=alice, payee=bob, minutes=90, idempotency_key="k")
    Member.objects.filter(pk=alice.pk).update(is_active=False)
    alice.refresh_from_db()
    transfer_reverse(transfer=original, by=None, reason="Fraud")
    with pytest.raises(LedgerError, match="suspended"):
        transfer_post(payer=alice, payee=bob, minutes=30, idempotency_key="after")
    assert balance(alice) == 0


def test_a_closed_account_with_history_can_be_corrected(alice, bob):
    original = transfer_post(payer=alice, payee=bob, minutes=45, idempotency_key="k")
    Member.objects.filter(pk=bob.pk).update(is_active=False, display_name="Former member")
    transfer_reverse(transfer=original, by=None, reason="Never happened")
    assert balance(bob) == 0 and not LimitChange.objects.exists()


# --- PostgreSQL's one-statement posting ------------------------------------------------------


def test_on_postgresql_a_posting_outside_a_transaction_is_one_statement(is_postgres):
    if not is_postgres:
        pytest.skip("the one-statement posting is PostgreSQL's")

    def post_and_count():
        payer, payee = MemberFactory(), MemberFactory()
        with CaptureQueriesContext(connection) as queries:
            transfer = transfer_post(payer=payer, payee=payee, minutes=30,
                                     idempotency_key=f"one-statement-{payer.pk}")
        written = (Account.objects.get(member=payer).balance_minutes,
                   Account.objects.get(member=payee).balance_minutes,
                   list(transfer.entries.values_list("minutes", "balance_after")),
                   Transfer.objects.get(pk=transfer.pk).minutes)
        accounts = Account.objects.filter(member__in=[payer, payee])
        Entry.objects.filter(transfer=transfer).delete()
        Transfer.objects.filter(pk=transfer.pk).delete()
        accounts.delete()
        Member.objects.filter(pk__in=[payer.pk, payee.pk]).delete()
        return len(queries), written

    count, written = in_own_connection(post_and_count)
    assert count == 1
    assert written == (-30, 30, [(-30, -30), (30, 30)], 30)
