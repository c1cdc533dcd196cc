"""Members are asked to review when an exchange completes and reminded once before the
window closes (notification and email, once each); told when a review of them is
published and when their review gets a reply."""

from __future__ import annotations

import pytest
from django.core import mail

from messaging.models import Notification, NotificationKind
from reviews import services
from reviews.models import ReviewWindow
from tests.reviews.conftest import age

pytestmark = pytest.mark.django_db


def kinds(member) -> list[str]:
    return sorted(Notification.objects.filter(member=member).values_list("kind", flat=True))


def of_kind(kind):
    return Notification.objects.filter(kind=kind)


def test_completion_invites_both_parties_with_an_email(loan, member, other_member):
    invites = of_kind(NotificationKind.REVIEW_INVITED)

    assert sorted(n.member_id for n in invites) == sorted([member.pk, other_member.pk])
    bob_invite = invites.get(member=other_member)
    assert bob_invite.params == {"who": "Alice", "listing": "Bosch drill", "days": 14}
    assert bob_invite.url == loan.get_absolute_url()
    assert "Leave a review within 14 days" in bob_invite.text
    invited_emails = [m for m in mail.outbox if "How did it go" in m.subject]
    assert sorted(m.to[0] for m in invited_emails) == sorted([member.email, other_member.email])


def test_inviting_again_sends_nothing_more(loan, on_commit):
    before = (Notification.objects.count(), len(mail.outbox))

    on_commit(lambda: services.review_invite(exchange=loan))

    assert (Notification.objects.count(), len(mail.outbox)) == before
    assert ReviewWindow.objects.count() == 1


def test_the_reminder_goes_once_three_days_before_the_close(loan, member, other_member, on_commit):
    services.review_submit(exchange=loan, author=member, rating=5, text="Thanks")
    age(loan, 10)
    assert on_commit(services.reviews_remind_due) == []

    age(loan, 1.5)
    outbox = len(mail.outbox)
    reminded = on_commit(services.reviews_remind_due)

    assert [w.pk for w in reminded] == [loan.pk]
    reminder = of_kind(NotificationKind.REVIEW_REMINDER).get()
    assert reminder.member == other_member  # Alice already reviewed
    assert reminder.params["days"] == 3
    assert "Only 3 days left to review Alice" in reminder.text
    assert [m.to for m in mail.outbox[outbox:]] == [[other_member.email]]

    assert on_commit(services.reviews_remind_due) == []
    assert of_kind(NotificationKind.REVIEW_REMINDER).count() == 1
    assert len(mail.outbox) == outbox + 1


def test_no_reminder_once_both_reviewed(loan, member, other_member, on_commit):
    services.review_submit(exchange=loan, author=member, rating=5, text="Thanks")
    services.review_submit(exchange=loan, author=other_member, rating=5, text="Thanks")
    age(loan, 12)

    assert on_commit(services.reviews_remind_due) == []
    assert not of_kind(NotificationKind.REVIEW_REMINDER).exists()


def test_the_reviewed_member_hears_of_publication_but_not_before(loan, member, other_member, on_commit):
    on_commit(lambda: services.review_submit(exchange=loan, author=other_member, rating=4, text="ok"))
    assert not of_kind(NotificationKind.REVIEW_PUBLISHED).exists()

    on_commit(lambda: services.review_submit(exchange=loan, author=member, rating=5, text="ok"))

    published = of_kind(NotificationKind.REVIEW_PUBLISHED)
    assert sorted(n.member_id for n in published) == sorted([member.pk, other_member.pk])
    assert published.get(member=member).text == "Bob reviewed you for “Bosch drill”."


def test_the_author_hears_of_a_reply(loan, member, other_member, on_commit):
    review = services.review_submit(exchange=loan, author=other_member, rating=4, text="ok")
    services.review_submit(exchange=loan, author=member, rating=5, text="ok")
    review.refresh_from_db()

    on_commit(lambda: services.review_reply(review=review, by=member, text="Thanks"))

    reply = of_kind(NotificationKind.REVIEW_REPLIED).get()
    assert reply.member == other_member
    assert reply.text == "Alice replied to your review for “Bosch drill”."


def test_a_missed_completion_is_caught_up_by_the_tick(drill, other_member, on_commit):
    from exchanges.models import State
    from tests.exchanges.factories import make_exchange

    exchange = make_exchange(listing=drill, asker=other_member, state=State.COMPLETED)

    opened = on_commit(services.review_windows_open_missing)

    assert [w.pk for w in opened] == [exchange.pk]
    assert of_kind(NotificationKind.REVIEW_INVITED).filter(exchange=exchange).count() == 2
    assert on_commit(services.review_windows_open_missing) == []
