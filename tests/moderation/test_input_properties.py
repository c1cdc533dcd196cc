"""Property-based tests of what moderators and members type into moderation: suspension
days (refused unless a whole number from 1 to 365, and then nothing changes), the
reasons the audit log keeps, and the note of a report (stored trimmed, at most 2,000
characters).

Each hypothesis example runs inside its own transaction.atomic() that is rolled back,
so every example starts from the same members (function-scoped fixtures on purpose,
hence the suppressed health check)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from listings.models import Listing, Status
from members.models import Member
from moderation import services
from moderation.forms import SuspendForm
from moderation.models import ModerationAction, Report, ReportReason
from moderation.services import MAX_SUSPENSION_DAYS, ModerationError

pytestmark = pytest.mark.django_db

with_db = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Any character but NUL, which PostgreSQL cannot store in text (the forms refuse it).
characters = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
whitespace = st.text(alphabet=" \t\r\n\u00a0\u3000\x0b", max_size=10)
reasons = st.one_of(st.text(characters, max_size=40), whitespace, st.just("Rude messages"))
any_days = st.one_of(
    st.integers(min_value=-3, max_value=MAX_SUSPENSION_DAYS + 3), st.integers(),
    st.sampled_from([None, True, False, 7.0, 1.5, "7", float("inf"), 10**400]),
)


def valid_days(days) -> bool:
    return (isinstance(days, int) and not isinstance(days, bool)
            and 1 <= days <= MAX_SUSPENSION_DAYS)


def standing(member: Member) -> tuple:
    member.refresh_from_db()
    active = Listing.objects.filter(owner=member, status=Status.ACTIVE).count()
    return (member.suspended_until, member.standing_reason, active,
            ModerationAction.objects.count())


@with_db
@given(days=any_days, reason=reasons)
@example(days=0, reason="Spam")
@example(days=-1, reason="Spam")
@example(days=MAX_SUSPENSION_DAYS + 1, reason="Spam")
@example(days=10**400, reason="Spam")
@example(days=7, reason="   ")
def test_any_suspension_is_refused_and_changes_nothing_or_lasts_the_days_given(
    alice, moderator, drill, days, reason
):
    with transaction.atomic():
        before = standing(alice)
        started = timezone.now()
        try:
            services.member_suspend(member=alice, by=moderator, days=days, reason=reason)
        except ModerationError as error:
            assert not valid_days(days) or not reason.strip(), error.messages
            assert standing(alice) == before
        else:
            assert valid_days(days) and reason.strip()
            alice.refresh_from_db()
            until = started + timedelta(days=days)
            assert until <= alice.suspended_until <= timezone.now() + timedelta(days=days)
            assert alice.standing_reason == reason.strip()[:2000]
            assert not Listing.objects.filter(owner=alice, status=Status.ACTIVE).exists()
            assert ModerationAction.objects.count() == before[3] + 1
        transaction.set_rollback(True)


typed_days = st.one_of(
    st.integers(min_value=-3, max_value=MAX_SUSPENSION_DAYS + 3).map(str), st.integers().map(str),
    st.sampled_from(["", "7.0", "1e3", "٧", " 7 ", "seven"]), st.text(max_size=8),
)


@with_db
@given(typed=typed_days)
@example(typed=str(MAX_SUSPENSION_DAYS))
@example(typed=str(MAX_SUSPENSION_DAYS + 1))
@example(typed="0")
def test_typed_days_on_the_admin_form_are_refused_or_suspend_within_the_limit(
    alice, moderator, typed
):
    form = SuspendForm({"days": typed, "reason": "Spam"})  # as the admin action page posts it
    with transaction.atomic():
        before = standing(alice)
        if not form.is_valid():
            assert set(form.errors) == {"days"}
            assert standing(alice) == before
        else:
            days = form.cleaned_data["days"]
            services.member_suspend(member=alice, by=moderator, days=days, reason="Spam")
            alice.refresh_from_db()
            assert 1 <= days <= MAX_SUSPENSION_DAYS
            assert alice.suspended_until <= timezone.now() + timedelta(days=MAX_SUSPENSION_DAYS)
        transaction.set_rollback(True)


notes = st.one_of(
    st.text(characters, max_size=60), whitespace, st.none(),
    st.builds(lambda left, n, right: left + "ß" * n + right,
              whitespace, st.integers(1995, 2005), whitespace),
)


@with_db
@given(note=notes, reason=st.one_of(st.sampled_from(ReportReason.values), st.text(max_size=12)))
def test_a_report_with_any_note_is_refused_or_keeps_the_note_trimmed_and_bounded(
    bob, drill, note, reason
):
    with transaction.atomic():
        try:
            report = services.report_create(reporter=bob, target=drill, reason=reason, note=note)
        except ModerationError:
            # An appeal is its owner's, through removal_appeal, never a report's reason.
            assert reason not in ReportReason.values or reason == ReportReason.APPEAL
            assert not Report.objects.exists()
        else:
            report.refresh_from_db()
            assert report.reason == reason
            assert report.note == (note or "").strip()[:2000]
            assert len(report.note) <= 2000
        transaction.set_rollback(True)
