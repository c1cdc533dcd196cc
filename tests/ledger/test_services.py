"""The ledger's rules, through its services: what is posted, what is refused, and that a
refusal posts nothing."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from ledger.audit import ledger_audit
from ledger.models import Account, AppendOnlyError, Entry, LimitChange, Transfer
from ledger.services import (
    LedgerError,
    account_for,
    account_set_limits,
    transfer_post,
    transfer_reverse,
)
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=["default", "orm-only"])
def posting_path(request, monkeypatch, is_postgres):
    """Every rule holds on both posting paths: PostgreSQL's one-statement posting (the
    default there) and the ORM path (the only one on SQLite, so run once there)."""
    if request.param == "orm-only":
        if not is_postgres:
            pytest.skip("SQLite only has the ORM path")
        monkeypatch.setattr("ledger.services._fast_path_available", lambda: False)
    return request.param


def post(payer, payee, minutes=60, key="k1", **kwargs) -> Transfer:
    return transfer_post(payer=payer, payee=payee, minutes=minutes, idempotency_key=key, **kwargs)


def balance(member) -> int:
    return Account.objects.get(member=member).balance_minutes


def snapshot() -> tuple:
    """Everything a refusal must leave unchanged."""
    return (
        Transfer.objects.count(),
        Entry.objects.count(),
        LimitChange.objects.count(),
        tuple(Account.objects.order_by("pk").values_list(
            "balance_minutes", "credit_limit_minutes", "max_balance_minutes")),
    )


def test_every_new_member_has_an_account_at_zero_with_the_default_limits(alice):
    account = Account.objects.get(member=alice)
    assert (account.balance_minutes, account.credit_limit_minutes, account.max_balance_minutes) == (
        0, -600, 2400)
    assert account_for(alice) == account


def test_a_transfer_moves_minutes_and_writes_two_lines_summing_to_zero(alice, bob):
    transfer = post(alice, bob, 90, note="  Mowed the lawn ", reference="gift", created_by=alice)
    assert (balance(alice), balance(bob)) == (-90, 90)
    lines = list(transfer.entries.order_by("minutes").values_list("account__member", "minutes",
                                                                   "balance_after"))
    assert lines == [(alice.pk, -90, -90), (bob.pk, 90, 90)]
    assert transfer.note == "Mowed the lawn"
    assert transfer.reference == "gift"
    assert Account.objects.aggregate(total=Sum("balance_minutes"))["total"] == 0
    assert ledger_audit().clean


def test_balance_after_is_the_running_balance(alice, bob):
    post(alice, bob, 30, key="a")
    post(alice, bob, 45, key="b")
    post(bob, alice, 15, key="c")
    running = list(Entry.objects.filter(account__member=alice).values_list("balance_after", flat=True))
    assert running == [-30, -75, -60]


@pytest.mark.parametrize("minutes", [0, -1, -60, 1.5, 90.0, "90", True, False, None, 6001, 10**9])
def test_it_refuses_a_bad_amount_and_posts_nothing(alice, bob, minutes):
    before = snapshot()
    with pytest.raises(LedgerError) as error:
        post(alice, bob, minutes)
    assert "minutes" in error.value.message_dict
    assert snapshot() == before


def test_the_largest_single_transfer_is_one_hundred_hours(alice, bob):
    account_set_limits(member=alice, credit_limit_minutes=-7000, max_balance_minutes=2400,
                       by=None, reason="test")
    account_set_limits(member=bob, credit_limit_minutes=-600, max_balance_minutes=7000,
                       by=None, reason="test")
    post(alice, bob, 6000)
    assert balance(bob) == 6000


@pytest.mark.parametrize("key", ["", "   ", None, "x" * 121])
def test_it_refuses_a_missing_or_too_long_key(alice, bob, key):
    before = snapshot()
    with pytest.raises(LedgerError):
        post(alice, bob, 60, key=key)
    assert snapshot() == before


def test_it_refuses_a_transfer_to_oneself(alice):
    before = snapshot()
    with pytest.raises(LedgerError, match="yourself"):
        post(alice, alice, 60)
    assert snapshot() == before


def test_it_refuses_a_transfer_from_a_suspended_member(alice, bob):
    alice.is_active = False
    alice.save()
    before = snapshot()
    with pytest.raises(LedgerError, match="suspended"):
        post(alice, bob, 60)
    assert snapshot() == before


def test_it_refuses_a_transfer_to_a_suspended_member(alice, bob):
    bob.is_active = False
    bob.save()
    before = snapshot()
    with pytest.raises(LedgerError, match="suspended"):
        post(alice, bob, 60)
    assert snapshot() == before


def test_it_refuses_a_member_suspended_after_being_loaded(alice, bob):
    """The check reads the member's state in the posting transaction, not a stale copy."""
    from members.models import Member

    Member.objects.filter(pk=bob.pk).update(is_active=False)
    before = snapshot()
    with pytest.raises(LedgerError, match="suspended"):
        post(alice, bob, 60)
    assert snapshot() == before


def test_a_member_may_spend_exactly_down_to_the_credit_limit(alice, bob):
    post(alice, bob, 600)
    assert balance(alice) == -600


def test_it_refuses_a_spend_past_the_credit_limit_and_posts_nothing(alice, bob):
    post(alice, bob, 590, key="first")
    before = snapshot()
    with pytest.raises(LedgerError, match="Not enough time"):
        post(alice, bob, 11, key="second")
    assert snapshot() == before
    assert balance(alice) == -590


def test_it_refuses_a_transfer_past_the_receivers_maximum_and_posts_nothing(alice, bob):
    account_set_limits(member=bob, credit_limit_minutes=-600, max_balance_minutes=100, by=None,
                       reason="test")
    post(alice, bob, 100, key="first")
    before = snapshot()
    with pytest.raises(LedgerError, match="cannot receive"):
        post(alice, bob, 1, key="second")
    assert snapshot() == before


def test_posting_the_same_key_twice_returns_the_first_transfer_and_moves_nothing_more(alice, bob):
    first = post(alice, bob, 60, key="exchange:1")
    again = post(alice, bob, 60, key="exchange:1")
    assert again.pk == first.pk
    assert Transfer.objects.count() == 1
    assert (balance(alice), balance(bob)) == (-60, 60)


def test_a_repeated_key_returns_the_first_transfer_even_with_another_amount_or_other_parties(
    alice, bob
):
    """The key names the posting: a retry with different figures gets the original back,
    it never posts the new figures (callers must derive keys from what they post)."""
    carol = MemberFactory()
    first = post(alice, bob, 60, key="same")
    assert post(alice, bob, 120, key="same").pk == first.pk
    assert post(bob, carol, 30, key="same").pk == first.pk
    assert Transfer.objects.count() == 1
    assert (balance(alice), balance(bob), balance(carol)) == (-60, 60, 0)


def test_a_repeated_key_returns_the_first_transfer_even_when_it_would_no_longer_fit(alice, bob):
    first = post(alice, bob, 600, key="whole-limit")
    assert post(alice, bob, 600, key="whole-limit").pk == first.pk
    assert balance(alice) == -600


def test_a_reversal_names_the_original_and_restores_both_balances(alice, bob):
    original = post(alice, bob, 90, reference="exchange:7")
    reversal = transfer_reverse(transfer=original, by=bob, reason="Entered twice")
    assert reversal.reverses_id == original.pk
    assert (reversal.from_account.member, reversal.to_account.member) == (bob, alice)
    assert reversal.minutes == 90 and reversal.note == "Entered twice"
    assert reversal.reference == "exchange:7" and reversal.created_by == bob
    assert original.reversed_by == reversal
    assert (balance(alice), balance(bob)) == (0, 0)
    assert ledger_audit().clean


def test_reversing_twice_returns_the_first_reversal(alice, bob):
    original = post(alice, bob, 90)
    first = transfer_reverse(transfer=original, by=None, reason="mistake")
    second = transfer_reverse(transfer=original, by=None, reason="mistake again")
    assert second.pk == first.pk
    assert Transfer.objects.count() == 2
    assert (balance(alice), balance(bob)) == (0, 0)


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reversal_needs_a_reason(alice, bob, reason):
    original = post(alice, bob, 90)
    before = snapshot()
    with pytest.raises(LedgerError) as error:
        transfer_reverse(transfer=original, by=None, reason=reason)
    assert "reason" in error.value.message_dict
    assert snapshot() == before


def test_a_reversal_cannot_itself_be_reversed(alice, bob):
    reversal = transfer_reverse(transfer=post(alice, bob, 90), by=None, reason="mistake")
    before = snapshot()
    with pytest.raises(LedgerError, match="itself a reversal"):
        transfer_reverse(transfer=reversal, by=None, reason="undo the undo")
    assert snapshot() == before


def test_a_reversal_passes_limits_that_would_refuse_a_transfer(alice, bob):
    original = post(bob, alice, 600)  # alice at +600
    carol = MemberFactory()
    post(alice, carol, 600, key="spent")  # alice spends it: 0
    post(alice, carol, 600, key="spent-more")  # and more: -600, her credit limit
    transfer_reverse(transfer=original, by=None, reason="the lawn was never mowed")
    assert balance(alice) == -1200  # below her limit: a correction is not blocked
    report = ledger_audit()
    # Explained by the reversal: a notice, not a violation.
    assert report.clean
    assert any("outside" in n and "reversal" in n for n in report.notices)


def test_ledger_rows_are_append_only(alice, bob):
    transfer = post(alice, bob, 60)
    entry = transfer.entries.first()
    change = LimitChange.objects.create(
        account=account_for(alice), changed_by=None, reason="x", old_credit_limit_minutes=-600,
        new_credit_limit_minutes=-600, old_max_balance_minutes=2400, new_max_balance_minutes=2400)
    for row in (transfer, entry, change):
        with pytest.raises(AppendOnlyError):
            row.save()
        with pytest.raises(AppendOnlyError):
            row.delete()
    transfer.refresh_from_db()
    assert transfer.minutes == 60 and Entry.objects.count() == 2


def test_queryset_update_and_delete_are_not_blocked_by_the_orm_but_the_audit_sees_them(alice, bob):
    """QuerySet.update()/delete() bypass Model.save()/delete(); no service or admin page
    uses them on ledger rows (the admin is read-only), and ledger_audit catches any
    change they make. This test documents the gap rather than hiding it."""
    transfer = post(alice, bob, 60)
    Entry.objects.filter(transfer=transfer, minutes=60).update(minutes=61)
    assert not ledger_audit().clean


def test_limit_changes_are_logged_with_old_and_new_values_who_and_why(alice, bob):
    account = account_set_limits(member=alice, credit_limit_minutes=-1200, max_balance_minutes=3000,
                                 by=bob, reason="  Trusted helper ")
    assert (account.credit_limit_minutes, account.max_balance_minutes) == (-1200, 3000)
    change = LimitChange.objects.get(account=account)
    assert (change.old_credit_limit_minutes, change.new_credit_limit_minutes) == (-600, -1200)
    assert (change.old_max_balance_minutes, change.new_max_balance_minutes) == (2400, 3000)
    assert change.changed_by == bob and change.reason == "Trusted helper"
    post(alice, bob, 1200)
    assert balance(alice) == -1200


@pytest.mark.parametrize(
    "credit, maximum, reason, field",
    [
        (1, 2400, "why", "credit_limit_minutes"),
        (-600, -1, "why", "max_balance_minutes"),
        (-600, 2400, "  ", "reason"),
        (-1.5, 2400, "why", "credit_limit_minutes"),
        ("-600", 2400, "why", "credit_limit_minutes"),
        (-600, 2400.0, "why", "max_balance_minutes"),
        (True, 2400, "why", "credit_limit_minutes"),
        (None, 2400, "why", "credit_limit_minutes"),
    ],
)
def test_it_refuses_bad_limits_and_logs_nothing(alice, credit, maximum, reason, field):
    before = snapshot()
    with pytest.raises(LedgerError) as error:
        account_set_limits(member=alice, credit_limit_minutes=credit, max_balance_minutes=maximum,
                           by=None, reason=reason)
    assert field in error.value.message_dict
    assert snapshot() == before


def test_a_lowered_limit_leaves_the_balance_and_the_audit_reports_a_notice_only(alice, bob):
    post(alice, bob, 500)
    account_set_limits(member=alice, credit_limit_minutes=-300, max_balance_minutes=2400, by=None,
                       reason="missed two exchanges")
    assert balance(alice) == -500
    report = ledger_audit()
    assert report.clean
    assert any("outside" in n for n in report.notices)
    with pytest.raises(LedgerError):
        post(alice, bob, 1, key="more")


def test_an_empty_account_goes_with_its_member_but_history_is_protected():
    from django.db.models import ProtectedError


    newcomer = MemberFactory()
    newcomer.delete()
    assert not Account.objects.filter(member_id=newcomer.pk).exists()

    giver, taker = MemberFactory(), MemberFactory()
    transfer_post(payer=giver, payee=taker, minutes=30, idempotency_key="history")
    with pytest.raises(ProtectedError):
        giver.delete()
