"""`messaging_digest`: one email for messages unread 15 minutes, only to members with
no live socket, never twice for the same messages."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from members.models import ConsentRecord
from members.services import member_set_consent
from messaging import conversations
from messaging.models import Message, Participant, SocketPresence
from tests.factories import ListingFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def drill_chat(alice, bob):
    drill = ListingFactory(owner=alice, title="Cordless drill")
    return conversations.conversation_for_listing(listing=drill, member=bob)


def write(conversation, sender, body: str, minutes_ago: int = 20) -> Message:
    message = conversations.message_post(conversation=conversation, sender=sender, body=body).message
    Message.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return message


def digest() -> str:
    out = io.StringIO()
    call_command("messaging_digest", stdout=out)
    return out.getvalue()


def test_one_email_lists_every_conversation_with_its_count(alice, bob, drill_chat):
    ladder = ListingFactory(owner=MemberFactory(display_name="Chloé"), title="Tall ladder")
    ladder_chat = conversations.conversation_for_listing(listing=ladder, member=alice)
    write(drill_chat, bob, "Is it free on Saturday?")
    write(drill_chat, bob, "Morning would suit me.")
    write(ladder_chat, ladder.owner, "Yes, come by.")
    assert "emailed 1 member" in digest()
    [email] = mail.outbox
    assert email.to == [alice.email]
    assert email.subject == "[Partage] 3 unread messages"
    assert "Cordless drill: 2 unread" in email.body
    assert "Tall ladder: 1 unread" in email.body
    assert drill_chat.get_absolute_url() in email.body
    # The message text itself is not copied into the email.
    assert "Saturday" not in email.body


def test_a_second_run_sends_nothing_more(alice, bob, drill_chat):
    write(drill_chat, bob, "Hello")
    digest()
    digest()
    assert len(mail.outbox) == 1


def test_a_new_message_later_gets_its_own_email(alice, bob, drill_chat):
    write(drill_chat, bob, "Hello")
    digest()
    write(drill_chat, bob, "Still there?")
    digest()
    assert len(mail.outbox) == 2
    assert "Cordless drill: 1 unread" in mail.outbox[1].body


def test_messages_younger_than_15_minutes_wait(alice, bob, drill_chat):
    write(drill_chat, bob, "Hello", minutes_ago=5)
    digest()
    assert mail.outbox == []


def test_read_messages_and_ones_own_are_not_emailed(alice, bob, drill_chat):
    write(drill_chat, bob, "Hello")
    write(drill_chat, alice, "Hi Bob")  # Alice answering marks the thread read for her
    digest()
    # Only Bob hears about it: of Alice's answer, not of his own message.
    [email] = mail.outbox
    assert email.to == [bob.email]
    assert "Cordless drill: 1 unread" in email.body


def test_a_member_with_a_live_socket_gets_nothing(alice, bob, drill_chat):
    write(drill_chat, bob, "Hello")
    SocketPresence.objects.create(member=alice, channel_name="w1!x", last_seen=timezone.now())
    digest()
    assert mail.outbox == []
    # Nothing was recorded as emailed: once she leaves without reading, she hears of it.
    SocketPresence.objects.all().delete()
    digest()
    assert len(mail.outbox) == 1


def test_a_socket_of_a_killed_worker_does_not_count(alice, bob, drill_chat):
    write(drill_chat, bob, "Hello")
    SocketPresence.objects.create(member=alice, channel_name="dead!x",
                                  last_seen=timezone.now() - timedelta(minutes=5))
    digest()
    assert len(mail.outbox) == 1
    assert not SocketPresence.objects.exists()


def test_a_withdrawn_email_consent_is_respected(alice, bob, drill_chat):
    member_set_consent(member=alice, kind=ConsentRecord.Kind.EMAIL, granted=False)
    write(drill_chat, bob, "Hello")
    assert "1 without email consent" in digest()
    assert mail.outbox == []


def test_a_failed_send_is_retried_next_run(alice, bob, drill_chat, settings, monkeypatch):
    write(drill_chat, bob, "Hello")

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("messaging.digests.send_mail", broken)
    assert "1 failed" in digest()
    assert Participant.objects.get(member=alice).last_emailed_message_id == 0
    monkeypatch.undo()
    digest()
    assert len(mail.outbox) == 1


def test_dry_run_sends_and_records_nothing(alice, bob, drill_chat):
    write(drill_chat, bob, "Hello")
    out = io.StringIO()
    call_command("messaging_digest", "--dry-run", stdout=out)
    assert alice.email in out.getvalue()
    assert mail.outbox == []
    digest()
    assert len(mail.outbox) == 1
