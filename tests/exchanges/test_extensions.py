"""Loan extensions: the borrower asks for more days, the owner accepts or declines under
the same no-overlap rule as any loan; every refusal changes nothing."""

from __future__ import annotations

import os

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.dates import day
from exchanges.extensions import (
    extension_accept,
    extension_cancel,
    extension_decline,
    extension_request,
)
from exchanges.models import (
    BlockedPeriod,
    Exchange,
    ExchangeEvent,
    ExtensionState,
    LoanExtension,
    State,
)
from exchanges.services import MAX_LOAN_DAYS, ExchangeError, exchange_accept, exchange_request
from listings.models import Terms
from tests.exchanges.conftest import days
from tests.exchanges.factories import make_exchange
from tests.exchanges.test_concurrency import delete_everything_of, race
from tests.factories import ListingFactory, MemberFactory
from tests.threads import in_own_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def loan(drill, bob, today):
    """Bob has had the drill since yesterday, until the day after tomorrow (4 days at 3.00)."""
    return make_exchange(listing=drill, asker=bob, state=State.IN_PROGRESS,
                         start_date=today - days(1), end_date=today + days(2))


def fresh(obj):
    obj.refresh_from_db()
    return obj


def snapshot(exchange: Exchange) -> tuple:
    exchange = Exchange.objects.get(pk=exchange.pk)
    return (
        exchange.state, exchange.end_date, exchange.blocked_until, exchange.amount_cents,
        exchange.last_reminder_on,
        list(LoanExtension.objects.filter(exchange=exchange).values_list("pk", "state")),
        ExchangeEvent.objects.filter(exchange=exchange).count(),
    )


# --- services: the happy paths ---------------------------------------------------------


def test_an_accepted_extension_moves_the_end_and_the_buffer_and_starts_reminders_over(
    drill, alice, bob, today,
):
    drill.loan_buffer_days = 2
    drill.save()
    loan = make_exchange(listing=drill, asker=bob, state=State.IN_PROGRESS,
                         start_date=today - days(5), end_date=today - days(2),
                         last_reminder_on=today - days(1))
    assert loan.is_overdue()

    extension = extension_request(exchange=loan, by=bob, new_end_date=today + days(3),
                                  note="Still drilling")
    assert extension.state == ExtensionState.REQUESTED and extension.requested_by == bob
    assert fresh(loan).end_date == today - days(2)  # nothing moves before the owner says yes

    extension_accept(extension=extension, by=alice)

    loan = fresh(loan)
    assert loan.state == State.IN_PROGRESS
    assert loan.end_date == today + days(3)
    assert loan.blocked_until == today + days(5)
    assert loan.last_reminder_on is None
    assert not loan.is_overdue()
    assert loan.amount_cents == 300 * 9  # 4 days asked for + 5 added, at the loan's rate
    extension = fresh(extension)
    assert extension.state == ExtensionState.ACCEPTED and extension.decided_at is not None
    event = loan.events.get(action="extend")
    assert event.actor == alice
    assert event.from_state == event.to_state == State.IN_PROGRESS
    # The day in the site's style, not ISO (core.dates).
    assert event.note == f"until {day(today + days(3))}"
    assert loan.events.filter(action="extend_request", actor=bob).count() == 1


def test_an_accepted_loan_not_yet_handed_over_can_be_extended(drill, alice, bob, today):
    loan = make_exchange(listing=drill, asker=bob, state=State.ACCEPTED)
    old_end = loan.end_date
    extension = extension_request(exchange=loan, by=bob, new_end_date=old_end + days(1))
    extension_accept(extension=extension, by=alice)
    loan = fresh(loan)
    assert loan.end_date == old_end + days(1) and loan.state == State.ACCEPTED


def test_the_owner_may_decline_and_the_loan_keeps_its_end(loan, alice, bob, today):
    before_end = loan.end_date
    extension = extension_request(exchange=loan, by=bob, new_end_date=today + days(5))
    extension_decline(extension=extension, by=alice, note="I need it back")
    assert fresh(extension).state == ExtensionState.DECLINED
    assert fresh(extension).decided_at is not None
    assert fresh(loan).end_date == before_end
    event = loan.events.get(action="extend_decline")
    assert event.actor == alice and "I need it back" in event.note


def test_the_borrower_may_withdraw_and_ask_again(loan, bob, today):
    first = extension_request(exchange=loan, by=bob, new_end_date=today + days(5))
    extension_cancel(extension=first, by=bob)
    assert fresh(first).state == ExtensionState.CANCELLED
    second = extension_request(exchange=loan, by=bob, new_end_date=today + days(4))
    assert second.state == ExtensionState.REQUESTED


# --- services: refusals ---------------------------------------------------------------


def test_a_second_open_request_is_refused(loan, bob, today):
    extension_request(exchange=loan, by=bob, new_end_date=today + days(5))
    before = snapshot(loan)
    with pytest.raises(ExchangeError, match="already asked"):
        extension_request(exchange=loan, by=bob, new_end_date=today + days(6))
    assert snapshot(loan) == before


def test_the_database_keeps_one_open_request_per_loan(loan, bob, today):
    LoanExtension.objects.create(exchange=loan, requested_by=bob, new_end_date=today + days(5))
    with pytest.raises(IntegrityError), transaction.atomic():
        LoanExtension.objects.create(exchange=loan, requested_by=bob, new_end_date=today + days(6))
    # Answered ones do not count.
    LoanExtension.objects.create(exchange=loan, requested_by=bob, new_end_date=today + days(6),
                                 state=ExtensionState.DECLINED)


def test_days_a_later_loan_holds_cannot_be_added(drill, loan, alice, bob, carol, today):
    make_exchange(listing=drill, asker=carol, state=State.ACCEPTED,
                  start_date=today + days(6), end_date=today + days(8))
    with pytest.raises(ExchangeError, match="overlap another loan"):
        extension_request(exchange=loan, by=bob, new_end_date=today + days(6))
    extension = extension_request(exchange=loan, by=bob, new_end_date=today + days(5))
    extension_accept(extension=extension, by=alice)
    assert fresh(loan).end_date == today + days(5)


def test_the_buffer_after_the_extended_loan_must_stay_free(drill, loan, alice, bob, carol, today):
    drill.loan_buffer_days = 2
    drill.save()
    make_exchange(listing=drill, asker=carol, state=State.ACCEPTED,
                  start_date=today + days(8), end_date=today + days(9))
    with pytest.raises(ExchangeError, match="overlap another loan"):
        extension_request(exchange=loan, by=bob, new_end_date=today + days(6))
    extension_request(exchange=loan, by=bob, new_end_date=today + days(5))


def test_accepting_refuses_days_another_loan_took_meanwhile(drill, loan, alice, bob, carol, today):
    extension = extension_request(exchange=loan, by=bob, new_end_date=today + days(6))
    other = exchange_request(listing=drill, asker=carol, start_date=today + days(5),
                             end_date=today + days(7))
    exchange_accept(exchange=other, by=alice)
    before = snapshot(loan)
    with pytest.raises(ExchangeError, match="overlap another loan"):
        extension_accept(extension=extension, by=alice)
    assert snapshot(loan) == before
    assert fresh(extension).state == ExtensionState.REQUESTED  # she may still decline it


def test_days_the_owner_blocked_cannot_be_added(drill, loan, bob, today):
    BlockedPeriod.objects.create(listing=drill, start_date=today + days(4), end_date=today + days(5))
    with pytest.raises(ExchangeError, match="keeps these days free"):
        extension_request(exchange=loan, by=bob, new_end_date=today + days(4))


def test_a_loan_cannot_grow_past_the_longest_loan(loan, bob, today):
    longest = loan.start_date + days(MAX_LOAN_DAYS - 1)
    with pytest.raises(ExchangeError, match=f"at most {MAX_LOAN_DAYS} days"):
        extension_request(exchange=loan, by=bob, new_end_date=longest + days(1))
    extension_request(exchange=loan, by=bob, new_end_date=longest)


@pytest.mark.parametrize("offset", [0, -1])
def test_the_new_end_must_come_after_the_current_one(loan, bob, offset):
    before = snapshot(loan)
    with pytest.raises(ExchangeError, match="after"):
        extension_request(exchange=loan, by=bob, new_end_date=loan.end_date + days(offset))
    assert snapshot(loan) == before


def test_an_overdue_loan_cannot_be_extended_to_a_day_already_past(drill, bob, today):
    loan = make_exchange(listing=drill, asker=bob, state=State.IN_PROGRESS,
                         start_date=today - days(6), end_date=today - days(3))
    with pytest.raises(ExchangeError, match="has not passed"):
        extension_request(exchange=loan, by=bob, new_end_date=today - days(1))


def test_the_owner_cannot_ask_and_the_borrower_cannot_answer(loan, alice, bob, dave, today):
    with pytest.raises(ExchangeError, match="Only the borrower"):
        extension_request(exchange=loan, by=alice, new_end_date=today + days(5))
    with pytest.raises(ExchangeError, match="not part of this exchange"):
        extension_request(exchange=loan, by=dave, new_end_date=today + days(5))
    extension = extension_request(exchange=loan, by=bob, new_end_date=today + days(5))
    before = snapshot(loan)
    for service in (extension_accept, extension_decline):
        with pytest.raises(ExchangeError, match="Only the owner"):
            service(extension=extension, by=bob)
        with pytest.raises(ExchangeError, match="not part of this exchange"):
            service(extension=extension, by=dave)
    with pytest.raises(ExchangeError, match="Only the borrower"):
        extension_cancel(extension=extension, by=alice)
    assert snapshot(loan) == before


@pytest.mark.parametrize("state", [State.REQUESTED, State.COMPLETED, State.CANCELLED,
                                   State.DECLINED, State.DISPUTED])
def test_only_an_accepted_or_running_loan_can_be_extended(drill, bob, today, state):
    loan = make_exchange(listing=drill, asker=bob, state=state)
    with pytest.raises(ExchangeError, match="cannot be extended"):
        extension_request(exchange=loan, by=bob, new_end_date=loan.end_date + days(1))
    assert not LoanExtension.objects.exists()


def test_a_sale_is_not_a_loan(bike, bob):
    sale = make_exchange(listing=bike, asker=bob, state=State.ACCEPTED)
    with pytest.raises(ExchangeError, match="Only a loan"):
        extension_request(exchange=sale, by=bob, new_end_date=timezone.localdate() + days(3))


def test_a_loan_returned_meanwhile_cannot_take_the_extension(loan, alice, bob, today):
    extension = extension_request(exchange=loan, by=bob, new_end_date=today + days(5))
    Exchange.objects.filter(pk=loan.pk).update(state=State.COMPLETED)
    with pytest.raises(ExchangeError, match="cannot be extended"):
        extension_accept(extension=extension, by=alice)
    extension_decline(extension=extension, by=alice)  # the question can still be closed
    assert fresh(extension).state == ExtensionState.DECLINED


def test_an_answered_request_cannot_be_answered_again(loan, alice, bob, today):
    extension = extension_request(exchange=loan, by=bob, new_end_date=today + days(5))
    extension_accept(extension=extension, by=alice)
    before = snapshot(loan)
    with pytest.raises(ExchangeError, match="already accepted"):
        extension_accept(extension=extension, by=alice)
    with pytest.raises(ExchangeError, match="already accepted"):
        extension_decline(extension=extension, by=alice)
    with pytest.raises(ExchangeError, match="already accepted"):
        extension_cancel(extension=extension, by=bob)
    assert snapshot(loan) == before


# --- pages -----------------------------------------------------------------------------


def request_url(exchange) -> str:
    return reverse("exchanges:extension-request", args=[exchange.pk])


def answer_url(extension, verb: str) -> str:
    return reverse(f"exchanges:extension-{verb}", args=[extension.pk])


def test_the_borrower_sees_the_form_and_asks_for_more_days(client, loan, bob, today):
    client.force_login(bob)
    html = client.get(loan.get_absolute_url()).content.decode()
    assert "Ask for more days" in html
    assert f'min="{(today + days(3)).isoformat()}"' in html
    assert f'action="{request_url(loan)}"' in html

    response = client.post(request_url(loan), {"new_end_date": (today + days(5)).isoformat(),
                                                "note": "One more weekend"}, follow=True)
    assert response.redirect_chain[-1][0] == loan.get_absolute_url()
    html = response.content.decode()
    assert "You asked for more days" in html
    assert "Waiting for the owner" in html and "Ask for more days" not in html
    assert LoanExtension.objects.get().note == "One more weekend"


def test_the_owner_sees_the_question_and_accepts_it(client, loan, alice, bob, today):
    extension = extension_request(exchange=loan, by=bob, new_end_date=today + days(5))
    client.force_login(alice)
    html = client.get(loan.get_absolute_url()).content.decode()
    assert "Ask for more days" not in html
    assert f'action="{answer_url(extension, "accept")}"' in html
    assert f'action="{answer_url(extension, "decline")}"' in html

    response = client.post(answer_url(extension, "accept"), follow=True)
    assert response.redirect_chain[-1][0] == loan.get_absolute_url()
    assert "the loan now runs longer" in response.content.decode()
    assert fresh(loan).end_date == today + days(5)


def test_the_owner_declines_with_a_word_and_the_borrower_withdraws(client, loan, alice, bob, today):
    extension = extension_request(exchange=loan, by=bob, new_end_date=today + days(5))
    client.force_login(alice)
    response = client.post(answer_url(extension, "decline"), {"note": "Sorry"}, follow=True)
    assert "You declined" in response.content.decode()
    assert fresh(extension).state == ExtensionState.DECLINED

    again = extension_request(exchange=loan, by=bob, new_end_date=today + days(4))
    client.force_login(bob)
    response = client.post(answer_url(again, "cancel"), follow=True)
    assert "withdrawn" in response.content.decode()
    assert fresh(again).state == ExtensionState.CANCELLED


def test_a_refused_request_shows_why_and_writes_nothing(client, loan, bob, today):
    client.force_login(bob)
    before = snapshot(loan)
    response = client.post(request_url(loan), {"new_end_date": loan.end_date.isoformat()},
                           follow=True)
    assert "Choose a day after" in response.content.decode()
    response = client.post(request_url(loan), {"new_end_date": "not a date"}, follow=True)
    assert "Enter a valid date" in response.content.decode()
    assert snapshot(loan) == before


def test_a_borrower_clicking_accept_gets_a_message_and_nothing_changes(client, loan, bob, today):
    extension = extension_request(exchange=loan, by=bob, new_end_date=today + days(5))
    client.force_login(bob)
    before = snapshot(loan)
    response = client.post(answer_url(extension, "accept"), follow=True)
    assert "Only the owner" in response.content.decode()
    assert snapshot(loan) == before


def test_another_member_gets_404_everywhere(client, loan, bob, dave, today):
    extension = extension_request(exchange=loan, by=bob, new_end_date=today + days(5))
    client.force_login(dave)
    before = snapshot(loan)
    assert client.post(request_url(loan), {"new_end_date": (today + days(5)).isoformat()}).status_code == 404
    for verb in ("accept", "decline", "cancel"):
        assert client.post(answer_url(extension, verb)).status_code == 404
    assert client.post(reverse("exchanges:extension-accept", args=[extension.pk + 999])).status_code == 404
    assert snapshot(loan) == before


def test_anonymous_visitors_are_sent_to_log_in(client, loan, bob, today):
    extension = extension_request(exchange=loan, by=bob, new_end_date=today + days(5))
    for url in (request_url(loan), answer_url(extension, "accept")):
        response = client.post(url)
        assert response.status_code == 302 and "login" in response["Location"]


def test_the_buttons_refuse_get(client, loan, alice, bob, today):
    extension = extension_request(exchange=loan, by=bob, new_end_date=today + days(5))
    client.force_login(alice)
    for url in (request_url(loan), *(answer_url(extension, v) for v in ("accept", "decline", "cancel"))):
        assert client.get(url).status_code == 405
    assert fresh(extension).state == ExtensionState.REQUESTED


def test_no_extension_panel_for_other_deals_or_finished_loans(client, drill, bike, bob, today):
    sale = make_exchange(listing=bike, asker=bob, state=State.ACCEPTED)
    done = make_exchange(listing=drill, asker=bob, state=State.COMPLETED)
    client.force_login(bob)
    for exchange in (sale, done):
        html = client.get(exchange.get_absolute_url()).content.decode()
        assert "Ask for more days" not in html and 'id="extensions"' not in html


def test_the_history_lists_past_questions(client, loan, alice, bob, today):
    first = extension_request(exchange=loan, by=bob, new_end_date=today + days(5))
    extension_decline(extension=first, by=alice)
    client.force_login(bob)
    html = client.get(loan.get_absolute_url()).content.decode()
    assert "Declined" in html and (today + days(5)).strftime("%B") in html
    assert "Ask for more days" in html


# --- concurrency (PostgreSQL) ------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="races need real row locks and concurrent writers: PostgreSQL only",
)
@pytest.mark.parametrize("round_", range(5))
def test_an_extension_and_a_new_loan_accepted_at_once_never_overlap(round_):
    def setup():
        alice, bob, carol = MemberFactory.create_batch(3)
        drill = ListingFactory(owner=alice, terms=Terms.LEND, loan_buffer_days=1)
        today = timezone.localdate()
        loan = make_exchange(listing=drill, asker=bob, state=State.IN_PROGRESS,
                             start_date=today - days(1), end_date=today + days(2))
        extension = extension_request(exchange=loan, by=bob, new_end_date=today + days(6))
        # Carol's days start where the extension (with its buffer) would end.
        other = exchange_request(listing=drill, asker=carol, start_date=today + days(7),
                                 end_date=today + days(9))
        return [alice, bob, carol], drill, loan, extension, other

    members, drill, loan, extension, other = in_own_connection(setup)
    alice = members[0]
    try:
        outcomes = race([
            lambda: extension_accept(extension=extension, by=alice),
            lambda: exchange_accept(exchange=other, by=alice),
        ])
        assert sorted(outcomes) == ["refused", "won"]

        def figures():
            held = list(Exchange.objects.filter(listing=drill).holding()
                        .order_by("start_date").values_list("start_date", "blocked_until"))
            return held, LoanExtension.objects.get(pk=extension.pk).state, \
                Exchange.objects.get(pk=other.pk).state

        held, extension_state, other_state = in_own_connection(figures)
        assert (extension_state == ExtensionState.ACCEPTED) != (other_state == State.ACCEPTED)
        for (_s1, until), (start, _u2) in zip(held, held[1:], strict=False):
            assert until < start
    finally:
        delete_everything_of(members)



def test_the_owner_is_notified_and_emailed_when_more_days_are_asked(
    mailoutbox, django_capture_on_commit_callbacks
):
    from exchanges import services
    from messaging.models import Notification

    owner, borrower = MemberFactory(), MemberFactory()
    listing = ListingFactory(owner=owner)
    start = timezone.localdate() + days(1)
    with django_capture_on_commit_callbacks(execute=True):
        exchange = services.exchange_request(listing=listing, asker=borrower, start_date=start,
                                             end_date=start + days(1))
        services.exchange_accept(exchange=exchange, by=owner)
        services.exchange_start(exchange=exchange, by=owner)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        extension_request(exchange=exchange, by=borrower,
                                     new_end_date=start + days(4))
    notification = Notification.objects.get(member=owner, kind="extension_requested")
    assert "longer" in notification.text
    assert [m.to for m in mailoutbox] == [[owner.email]]
