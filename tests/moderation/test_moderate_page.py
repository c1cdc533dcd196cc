"""The moderation page in the admin: it opens every kind a member can report (a chat
message included, with its conversation around it) and nothing else."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from members.models import Member
from messaging.conversations import conversation_for_listing, message_post
from messaging.models import Message
from moderation import services
from moderation.models import ActionKind, ModerationAction, Warning
from tests.exchanges.factories import make_exchange

pytestmark = pytest.mark.django_db


def staff_client(member) -> Client:
    client = Client()
    client.force_login(member)
    return client


def moderate_path(obj) -> str:
    content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
    return f"/admin/moderation/report/moderate/{content_type.pk}/{obj.pk}/"


@pytest.fixture
def chat(alice, bob, drill):
    """Bob asks about Alice's drill; the third message is rude."""
    conversation = conversation_for_listing(listing=drill, member=bob)
    bodies = [(bob, "Is the drill free on Saturday?"), (alice, "Yes, from 9."),
              (bob, "You are a thief and I know where you live"), (alice, "Please stop.")]
    posted = [message_post(conversation=conversation, sender=sender, body=body).message
              for sender, body in bodies]
    return conversation, posted


def test_a_reported_message_opens_with_its_text_its_conversation_and_its_actions(moderator, bob, chat):
    conversation, posted = chat
    rude = posted[2]
    services.report_create(reporter=posted[1].sender, target=rude, reason="harassment",
                           note="Threats")
    response = staff_client(moderator).get(moderate_path(rude))
    assert response.status_code == 200
    html = response.content.decode()
    assert "You are a thief and I know where you live" in html
    # The conversation around it, in order, and who is in it.
    assert html.index("Is the drill free on Saturday?") < html.index("Yes, from 9.") \
        < html.index("Please stop.")
    assert "Cordless drill" in html and bob.email in html and posted[1].sender.email in html
    assert 'aria-current="true"' in html
    # What applies to a message: hide it, warn or suspend its author; no link to an
    # admin page that does not exist.
    for heading in ("Hide it", "Warn its author", "Suspend its author", "Resolve the open reports"):
        assert heading in html
    assert "/admin/messaging/message/" not in html
    assert moderate_path(bob) in html


def test_a_moderator_hides_a_message_and_warns_its_author_from_its_page(moderator, bob, chat, act):
    _conversation, posted = chat
    rude = posted[2]
    client = staff_client(moderator)
    url = moderate_path(rude)
    assert client.post(url, {"do": "hide", "hide-reason": "Threats"}).status_code == 302
    rude.refresh_from_db()
    assert rude.hidden_at is not None
    html = client.get(url).content.decode()
    assert "Restore it" in html and "hidden since" in html
    response = client.post(url, {"do": "warn_author", "warn-reason": "No threats here."})
    assert response.status_code == 302
    assert Warning.objects.get(member=bob).reason == "No threats here."
    assert ModerationAction.objects.filter(action=ActionKind.MEMBER_WARN,
                                           object_id=bob.pk).exists()
    response = client.post(url, {"do": "suspend_author", "suspend-days": "3",
                                 "suspend-reason": "Threats"})
    assert response.status_code == 302
    assert Member.objects.get(pk=bob.pk).is_suspended
    # A form left empty is refused with its error, and changes nothing.
    response = client.post(url, {"do": "warn_author", "warn-reason": " "})
    assert response.status_code == 200 and Warning.objects.filter(member=bob).count() == 1


def test_a_message_of_a_deleted_account_still_opens(moderator, chat):
    _conversation, posted = chat
    Message.objects.filter(pk=posted[2].pk).update(sender=None)
    html = staff_client(moderator).get(moderate_path(posted[2])).content.decode()
    assert "a member who deleted their account" in html and "Warn its author" not in html


def test_plain_staff_and_members_cannot_open_a_message(plain_staff, alice, chat):
    url = moderate_path(chat[1][2])
    assert staff_client(plain_staff).get(url).status_code == 403
    assert staff_client(alice).get(url).status_code == 302


def test_listing_member_review_and_exchange_pages_open_with_working_links(
        moderator, alice, bob, drill, django_capture_on_commit_callbacks):
    from exchanges import services as exchange_services
    from exchanges.models import State
    from reviews.services import review_submit

    exchange = make_exchange(listing=drill, asker=bob, state=State.IN_PROGRESS)
    with django_capture_on_commit_callbacks(execute=True):
        exchange = exchange_services.exchange_complete(exchange=exchange, by=alice)
    review = review_submit(exchange=exchange, author=bob, rating=2, text="Drill was blunt")
    client = staff_client(moderator)
    for target in (drill, alice, exchange, review):
        response = client.get(moderate_path(target))
        assert response.status_code == 200, target
        html = response.content.decode()
        # The link to its admin page is there and answers.
        opts = target._meta
        change = f"/admin/{opts.app_label}/{opts.model_name}/{target.pk}/change/"
        assert change in html, target
        assert client.get(change).status_code == 200, target
    html = client.get(moderate_path(review)).content.decode()
    assert "Hide it" in html and "Warn its author" in html and moderate_path(bob) in html
    # A member's own page keeps the member actions, not the author ones.
    html = client.get(moderate_path(alice)).content.decode()
    assert "Warn the member" in html and "Warn its author" not in html


def _make(label: str, alice, bob, drill, chat, capture):
    """One object of the given content type, made as the app makes it."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.usersessions.models import UserSession
    from django.contrib.auth.models import Group, Permission

    from exchanges.models import Payment, State
    from ledger.services import transfer_post

    conversation, posted = chat
    if label == "listings.listing":
        return drill
    if label == "members.member":
        return alice
    if label == "messaging.message":
        return posted[0]
    if label == "exchanges.exchange":
        return make_exchange(listing=drill, asker=bob, state=State.REQUESTED)
    if label == "reviews.review":
        from exchanges import services as exchange_services
        from reviews.services import review_submit

        exchange = make_exchange(listing=drill, asker=bob, state=State.IN_PROGRESS)
        with capture(execute=True):
            exchange = exchange_services.exchange_complete(exchange=exchange, by=alice)
        return review_submit(exchange=exchange, author=bob, rating=4, text="Fine")
    if label == "messaging.conversation":
        return conversation
    if label == "messaging.participant":
        return conversation.participants.first()
    if label == "messaging.notification":
        from messaging.services import notification_create

        return notification_create(member=alice, kind="report_received", dedupe_key="t:1",
                                   params={"listing": "x"})[0]
    if label == "account.emailaddress":
        return EmailAddress.objects.get_or_create(user=alice, email=alice.email)[0]
    if label == "usersessions.usersession":
        return UserSession.objects.create(user=alice, ip="203.0.113.9", user_agent="Firefox",
                                          session_key="k" * 32)
    if label == "mfa.authenticator":
        return Authenticator.objects.create(user=alice, type="recovery_codes",
                                            data={"seed": "secret"})
    if label == "auth.group":
        return Group.objects.first()
    if label == "auth.permission":
        return Permission.objects.first()
    if label == "contenttypes.contenttype":
        return ContentType.objects.first()
    if label == "ledger.transfer":
        return transfer_post(payer=alice, payee=bob, minutes=30, reference="test:1",
                             idempotency_key="moderate-page-test")
    if label == "exchanges.payment":
        exchange = make_exchange(listing=drill, asker=bob, state=State.REQUESTED)
        return Payment.objects.create(exchange=exchange, purpose="price", amount_cents=300)
    if label == "moderation.report":
        return services.report_create(reporter=bob, target=drill, reason="spam")
    if label == "listings.category":
        return drill.category
    raise AssertionError(label)


# Every kind a member can report opens, and disputes (exchanges) for settling them;
# nothing else, however it is reached.
CONTENT_TYPES = [
    ("listings.listing", 200), ("members.member", 200), ("reviews.review", 200),
    ("messaging.message", 200), ("exchanges.exchange", 200),
    ("messaging.conversation", 404), ("messaging.participant", 404),
    ("messaging.notification", 404), ("account.emailaddress", 404),
    ("usersessions.usersession", 404), ("mfa.authenticator", 404), ("auth.group", 404),
    ("auth.permission", 404), ("contenttypes.contenttype", 404), ("ledger.transfer", 404),
    ("exchanges.payment", 404), ("moderation.report", 404), ("listings.category", 404),
]


@pytest.mark.parametrize("label, status", CONTENT_TYPES)
def test_the_table_of_content_types_the_moderation_page_opens(
        moderator, alice, bob, drill, chat, django_capture_on_commit_callbacks, label, status):
    obj = _make(label, alice, bob, drill, chat, django_capture_on_commit_callbacks)
    assert obj is not None and obj._meta.label_lower == label
    client = staff_client(moderator)
    assert client.get(moderate_path(obj)).status_code == status
    if status == 404:
        # Nor does a form posted there do anything.
        response = client.post(moderate_path(obj), {"do": "hide", "hide-reason": "x"})
        assert response.status_code == 404


def test_unknown_content_types_and_missing_objects_are_not_found(moderator, drill):
    client = staff_client(moderator)
    assert client.get("/admin/moderation/report/moderate/999999/1/").status_code == 404
    missing = moderate_path(drill).replace(f"/{drill.pk}/", "/999999/")
    assert client.get(missing).status_code == 404
