"""ledger_audit and `manage.py ledger_audit`: clean on a healthy ledger, and each kind of
corruption (made on purpose with QuerySet.update, which bypasses the append-only models)
is found and reported readably."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ledger.audit import ledger_audit
from ledger.models import Account, Entry, Transfer
from ledger.services import account_set_limits, transfer_post, transfer_reverse
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def trio(db):
    alice, bob, carol = MemberFactory.create_batch(3)
    first = transfer_post(payer=alice, payee=bob, minutes=90, idempotency_key="t1")
    transfer_post(payer=bob, payee=carol, minutes=30, idempotency_key="t2")
    transfer_reverse(transfer=first, by=None, reason="mistake")
    return alice, bob, carol


def run_command() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("ledger_audit", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failing_command() -> str:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="ledger audit failed"):
        call_command("ledger_audit", stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_a_healthy_ledger_is_clean(trio):
    report = ledger_audit()
    assert report.clean and report.violations == [] and report.notices == []
    assert report.transfers == 3
    out, err = run_command()
    assert "Ledger clean: 3 transfers" in out and err == ""


def test_an_empty_ledger_is_clean(db):
    assert ledger_audit().clean
    assert "Ledger clean" in run_command()[0]


def test_it_finds_a_stored_balance_that_drifted_from_its_lines(trio):
    alice, bob, _carol = trio
    # Drift both ways so the total stays zero: only the per-account check can see it.
    Account.objects.filter(member=alice).update(balance_minutes=5)
    Account.objects.filter(member=bob).update(balance_minutes=-5 - 30 + 0)
    report = ledger_audit()
    assert any("stored 5 min, lines sum to 0 min" in v for v in report.violations)
    output = failing_command()
    assert "VIOLATION" in output and "stored 5 min" in output


def test_it_finds_a_transfer_whose_lines_do_not_sum_to_zero(trio):
    transfer = Transfer.objects.get(idempotency_key="t2")
    Entry.objects.filter(transfer=transfer, minutes=30).update(minutes=31)
    report = ledger_audit()
    assert f"transfer {transfer.pk}: 2 lines summing to 1 min" in report.violations
    assert f"transfer {transfer.pk}" in failing_command()


def test_it_finds_a_transfer_with_a_missing_line(trio):
    transfer = Transfer.objects.get(idempotency_key="t2")
    Entry.objects.filter(transfer=transfer, minutes=30).delete()
    report = ledger_audit()
    assert f"transfer {transfer.pk}: 1 lines summing to -30 min" in report.violations
    assert not report.clean


def test_it_finds_a_transfer_without_any_line(trio):
    Entry.objects.filter(transfer__idempotency_key="t2").delete()
    assert "1 transfer(s) without any line" in ledger_audit().violations


def test_it_finds_balances_that_do_not_sum_to_zero(trio):
    _alice, _bob, carol = trio
    Account.objects.filter(member=carol).update(balance_minutes=45)
    report = ledger_audit()
    assert "all balances sum to 15 min, not 0" in report.violations
    assert "all balances sum to 15 min, not 0" in failing_command()


def test_it_reports_a_balance_outside_its_limits_as_a_violation(trio):
    alice, _bob, _carol = trio
    # A limit tightened behind the service's back: no LimitChange explains it.
    Account.objects.filter(member=alice).update(max_balance_minutes=0, credit_limit_minutes=0)
    Account.objects.filter(member=trio[2]).update(max_balance_minutes=10)  # carol holds 30
    report = ledger_audit()
    assert any("balance 30 min outside [-600, 10]" in v for v in report.violations)
    assert "outside" in failing_command()


def test_a_balance_outside_a_limit_lowered_later_is_a_notice_only(trio):
    _alice, bob, carol = trio
    account_set_limits(member=carol, credit_limit_minutes=-600, max_balance_minutes=10, by=bob,
                       reason="cap")
    report = ledger_audit()
    assert report.clean
    assert any("balance 30 min outside [-600, 10] (a limit was changed later)" in n
               for n in report.notices)
    out, _err = run_command()
    assert "notice:" in out and "Ledger clean" in out

