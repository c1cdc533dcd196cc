"""The ledger under real concurrency, on PostgreSQL.

Each worker is a thread with its own database connection, in autocommit like a real
request; a Barrier starts them together. Setup is committed in its own connection and
deleted afterwards (a transactional test would flush the seeded data). SQLite serialises
every writer, so these races cannot happen there."""

from __future__ import annotations

import os
import random
from collections import Counter

import pytest
from django.db.models import F, Q

from ledger.audit import ledger_audit
from ledger.models import Account, Entry, LimitChange, Transfer
from ledger.services import LedgerError, transfer_post
from members.models import Member
from tests.factories import MemberFactory
from tests.threads import in_own_connection, in_parallel

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="races need real row locks and concurrent writers: PostgreSQL only",
    ),
]


def delete_everything_of(members: list[Member]) -> None:
    """Ledger rows are append-only for the application; a test's cleanup deletes them
    with QuerySet.delete(), which the models do not block (see test_services)."""
    def delete() -> None:
        accounts = Account.objects.filter(member__in=members)
        mine = Transfer.objects.filter(Q(from_account__in=accounts) | Q(to_account__in=accounts))
        Entry.objects.filter(transfer__in=mine).delete()
        mine.filter(reverses__isnull=False).delete()
        mine.delete()
        LimitChange.objects.filter(account__in=accounts).delete()
        accounts.delete()
        Member.objects.filter(pk__in=[m.pk for m in members]).delete()

    in_own_connection(delete)


@pytest.mark.parametrize("round_", range(3))
def test_ten_concurrent_spends_of_a_new_members_whole_credit_limit_let_exactly_one_through(round_):
    def setup():
        newcomer = MemberFactory()  # brand new: its account was opened with it
        return newcomer, MemberFactory.create_batch(10)

    newcomer, payees = in_own_connection(setup)
    try:
        results = in_parallel([
            lambda p=p, i=i: transfer_post(payer=newcomer, payee=p, minutes=600,
                                           idempotency_key=f"spend-{round_}-{newcomer.pk}-{i}")
            for i, p in enumerate(payees)
        ])
        kinds = Counter(type(r).__name__ for r in results)
        assert kinds == {"Transfer": 1, "LedgerError": 9}, results

        def figures():
            return (Account.objects.get(member=newcomer).balance_minutes,
                    Transfer.objects.filter(from_account__member=newcomer).count(),
                    ledger_audit().violations)

        assert in_own_connection(figures) == (-600, 1, [])
    finally:
        delete_everything_of([newcomer, *payees])


def test_eight_workers_posting_two_thousand_random_transfers_keep_the_ledger_sound():
    workers, per_worker, member_count, key_pool = 8, 250, 50, 1700
    members = in_own_connection(lambda: MemberFactory.create_batch(member_count))
    try:
        def work(seed: int) -> dict:
            rng = random.Random(seed)
            got: dict[str, int] = {}
            refused = 0
            for _ in range(per_worker):
                payer, payee = rng.sample(members, 2)
                key = f"bulk-{rng.randrange(key_pool)}"  # some keys repeat across workers
                # Mostly small amounts; some large enough to break a limit.
                minutes = rng.choice([rng.randint(1, 90)] * 4 + [rng.randint(300, 2600)])
                try:
                    transfer = transfer_post(payer=payer, payee=payee, minutes=minutes,
                                             idempotency_key=key)
                except LedgerError:
                    refused += 1
                else:
                    assert got.setdefault(key, transfer.pk) == transfer.pk
            return {"got": got, "refused": refused}

        results = in_parallel([lambda s=s: work(s) for s in range(workers)])
        errors = [r for r in results if not isinstance(r, dict)]
        assert errors == []
        by_key: dict[str, set[int]] = {}
        for result in results:
            for key, pk in result["got"].items():
                by_key.setdefault(key, set()).add(pk)
        # A repeated key always answered with the one transfer it first made.
        assert all(len(pks) == 1 for pks in by_key.values())
        assert sum(r["refused"] for r in results) > 0  # some posts did break a limit

        def figures():
            ours = Transfer.objects.filter(idempotency_key__startswith="bulk-",
                                           from_account__member__in=members)
            outside = Account.objects.filter(member__in=members).filter(
                Q(balance_minutes__lt=F("credit_limit_minutes"))
                | Q(balance_minutes__gt=F("max_balance_minutes"))
            ).count()
            return ours.count(), set(ours.values_list("pk", flat=True)), outside, ledger_audit()

        count, pks, outside, report = in_own_connection(figures)
        assert count == len(by_key)
        assert pks == {pk for pks_ in by_key.values() for pk in pks_}
        assert outside == 0
        assert report.clean, report.violations
    finally:
        delete_everything_of(members)


