"""Each move of a deal tells the other party, once, in the reader's language."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone, translation

from exchanges import services as es
from exchanges.models import ExchangeEvent
from exchanges.signals import exchange_changed, loan_overdue
from messaging.models import Notification


def _accept(act, ex, alice, bob):
    return act(es.exchange_accept, exchange=ex, by=alice)


def _start(act, ex, alice, bob):
    return act(es.exchange_start, exchange=ex, by=alice)


KINDS = {
    "accept": "exchange_accepted", "decline": "exchange_declined", "cancel": "exchange_cancelled",
    "call_off": "exchange_called_off", "expire": "exchange_expired", "pay": "exchange_paid",
    "start": "exchange_started", "complete": "exchange_completed", "dispute": "exchange_disputed",
}

# (action, steps before it, the move, {recipient: (English, French)})
MOVES = [
    ("accept", [], _accept, {"bob": (
        "Alice accepted your request for “Cordless drill”. Arrange the hand-over.",
        "Alice a accepté votre demande pour « Cordless drill ». Convenez de la remise.",
    )}),
    ("decline", [], lambda act, ex, a, b: act(es.exchange_decline, exchange=ex, by=a), {"bob": (
        "Alice declined your request for “Cordless drill”.",
        "Alice a refusé votre demande pour « Cordless drill ».",
    )}),
    ("cancel", [], lambda act, ex, a, b: act(es.exchange_cancel, exchange=ex, by=b), {"alice": (
        "Bob withdrew their request for “Cordless drill”.",
        "Bob a retiré sa demande pour « Cordless drill ».",
    )}),
    ("call_off", [_accept], lambda act, ex, a, b: act(es.exchange_call_off, exchange=ex, by=b), {
        "alice": (
            "Bob cancelled the deal for “Cordless drill”.",
            "Bob a annulé l’échange pour « Cordless drill ».",
        ),
    }),
    ("expire", [], lambda act, ex, a, b: act(es.exchange_expire, exchange=ex), {
        "bob": (
            "Your request for “Cordless drill” expired without an answer.",
            "Votre demande pour « Cordless drill » a expiré sans réponse.",
        ),
        "alice": (
            "The request from Bob for “Cordless drill” expired: it had no answer in time.",
            "La demande de Bob pour « Cordless drill » a expiré faute de réponse à temps.",
        ),
    }),
    ("pay", [_accept], lambda act, ex, a, b: act(es.exchange_mark_paid, exchange=ex), {
        "bob": (
            "Your payment for “Cordless drill” was received.",
            "Votre paiement pour « Cordless drill » a été reçu.",
        ),
        "alice": ("Bob paid for “Cordless drill”.", "Bob a payé « Cordless drill »."),
    }),
    ("start", [_accept], _start, {"bob": (
        "Alice confirmed the hand-over of “Cordless drill”.",
        "Alice a confirmé la remise de « Cordless drill ».",
    )}),
    ("complete", [_accept, _start],
     lambda act, ex, a, b: act(es.exchange_complete, exchange=ex, by=a), {"bob": (
         # A loan is done when it comes back: its own words.
         "Alice confirmed that “Cordless drill” was returned.",
         "Alice a confirmé le retour de « Cordless drill ».",
     )}),
    ("dispute", [_accept],
     lambda act, ex, a, b: act(es.exchange_dispute, exchange=ex, by=b, note="It is broken."), {
         "alice": (
             "Bob reported a problem with “Cordless drill”.",
             "Bob a signalé un problème avec « Cordless drill ».",
         ),
     }),
]


@pytest.mark.parametrize(("action", "before", "move", "expected"), MOVES, ids=[m[0] for m in MOVES])
def test_each_move_notifies_the_right_member_once_in_their_language(
    act, loan_request, alice, bob, action, before, move, expected
):
    members = {"alice": alice, "bob": bob}
    for step in before:
        step(act, loan_request, alice, bob)
    existing = set(Notification.objects.values_list("pk", flat=True))

    move(act, loan_request, alice, bob)

    # Review invitations on completion are the reviews app's (tests/reviews).
    new = Notification.objects.exclude(pk__in=existing).exclude(kind__startswith="review_")
    assert sorted(n.member_id for n in new) == sorted(members[name].pk for name in expected)
    for name, (english, french) in expected.items():
        notification = new.get(member=members[name])
        assert notification.kind == KINDS[action]
        assert notification.exchange_id == loan_request.pk
        assert notification.url == loan_request.get_absolute_url()
        with translation.override("en"):
            assert notification.text == english
        with translation.override("fr"):
            assert notification.text == french


def test_a_request_notifies_the_owner_and_not_the_asker(loan_request, alice, bob):
    assert not Notification.objects.filter(member=bob).exists()
    notification = Notification.objects.get(member=alice)
    assert notification.kind == "exchange_requested"
    assert notification.needs_action
    assert notification.text == "Bob asks for “Cordless drill”."
    with translation.override("fr"):
        assert notification.text == "Bob demande « Cordless drill »."


def test_the_member_who_acts_is_never_notified(act, loan_request, alice, bob):
    act(es.exchange_accept, exchange=loan_request, by=alice)
    act(es.exchange_start, exchange=loan_request, by=alice)
    act(es.exchange_complete, exchange=loan_request, by=alice)
    # Both are invited to review on completion (reviews app): not a notice of a move.
    exchange_notices = Notification.objects.exclude(kind__startswith="review_")
    assert list(exchange_notices.filter(member=alice).values_list("kind", flat=True)) == [
        "exchange_requested"
    ]
    assert exchange_notices.filter(member=bob).count() == 3


def test_the_text_follows_the_readers_language_not_the_actors(act, loan_request, alice):
    with translation.override("fr"):
        act(es.exchange_decline, exchange=loan_request, by=alice)
    notification = Notification.objects.get(kind="exchange_declined")
    assert notification.text == "Alice declined your request for “Cordless drill”."


def test_a_replayed_signal_creates_nothing_more_and_sends_no_second_email(loan_request, alice):
    event = ExchangeEvent.objects.get(exchange=loan_request, action="request")
    assert len(mail.outbox) == 1
    exchange_changed.send(sender=type(loan_request), exchange=loan_request, event=event,
                          actor=loan_request.asker)
    assert Notification.objects.filter(member=alice).count() == 1
    assert len(mail.outbox) == 1


def test_an_action_it_does_not_know_notifies_nobody(loan_request):
    event = ExchangeEvent.objects.create(exchange=loan_request, action="extend_asked",
                                         from_state="accepted", to_state="accepted")
    before = Notification.objects.count()
    exchange_changed.send(sender=type(loan_request), exchange=loan_request, event=event,
                          actor=loan_request.asker)
    assert Notification.objects.count() == before


# --- Emails ------------------------------------------------------------------------------


def test_the_owner_is_emailed_a_request_with_a_link_to_it(loan_request, alice, settings):
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [alice.email]
    assert "Bob asks for “Cordless drill”." in email.subject
    assert "Bob asks for “Cordless drill”." in email.body
    assert f"{settings.SITE_URL}/exchanges/{loan_request.pk}/" in email.body
    assert Notification.objects.get(member=alice).emailed_at is not None


def test_the_link_is_built_on_site_url(act, drill, bob, settings):
    settings.SITE_URL = "https://partage.example/"
    tomorrow = timezone.localdate() + timedelta(days=1)
    exchange = act(es.exchange_request, listing=drill, asker=bob,
                   start_date=tomorrow, end_date=tomorrow)
    assert f"https://partage.example/exchanges/{exchange.pk}/" in mail.outbox[0].body


def test_an_accepted_request_emails_the_asker_about_paying_in_person(act, loan_request, bob):
    mail.outbox.clear()
    act(es.exchange_accept, exchange=loan_request, by=loan_request.owner)
    assert [m.to for m in mail.outbox] == [[bob.email]]
    assert "in person" in mail.outbox[0].body


def test_a_dispute_emails_the_other_party(act, loan_request, alice):
    act(es.exchange_accept, exchange=loan_request, by=alice)
    mail.outbox.clear()
    act(es.exchange_dispute, exchange=loan_request, by=loan_request.asker, note="Broken.")
    assert [m.to for m in mail.outbox] == [[alice.email]]
    assert "Bob reported a problem" in mail.outbox[0].subject


@pytest.mark.parametrize("steps", [
    ["decline"], ["cancel"], ["accept", "call_off"], ["expire"], ["accept", "start"],
    ["accept", "start", "complete"],
])
def test_moves_that_need_no_action_send_no_email(act, loan_request, alice, bob, steps):
    calls = {
        "accept": lambda: act(es.exchange_accept, exchange=loan_request, by=alice),
        "decline": lambda: act(es.exchange_decline, exchange=loan_request, by=alice),
        "cancel": lambda: act(es.exchange_cancel, exchange=loan_request, by=bob),
        "call_off": lambda: act(es.exchange_call_off, exchange=loan_request, by=alice),
        "expire": lambda: act(es.exchange_expire, exchange=loan_request),
        "start": lambda: act(es.exchange_start, exchange=loan_request, by=alice),
        "complete": lambda: act(es.exchange_complete, exchange=loan_request, by=alice),
    }
    for step in steps[:-1]:
        calls[step]()
    mail.outbox.clear()
    calls[steps[-1]]()
    # Completion asks both to review (reviews app): that email needs action.
    assert [m for m in mail.outbox if "How did it go" not in m.subject] == []
    assert Notification.objects.filter(needs_action=False, emailed_at__isnull=False).count() == 0


def test_an_inactive_member_gets_the_notification_but_no_email(act, drill, bob, alice):
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    tomorrow = timezone.localdate() + timedelta(days=1)
    act(es.exchange_request, listing=drill, asker=bob, start_date=tomorrow, end_date=tomorrow)
    assert Notification.objects.filter(member=alice).count() == 1
    assert mail.outbox == []


def test_a_failing_mail_server_does_not_break_the_move(act, drill, bob, alice, settings):
    settings.EMAIL_BACKEND = "tests.messaging.test_receivers.BrokenBackend"
    tomorrow = timezone.localdate() + timedelta(days=1)
    exchange = act(es.exchange_request, listing=drill, asker=bob,
                   start_date=tomorrow, end_date=tomorrow)
    assert exchange.pk
    notification = Notification.objects.get(member=alice)
    assert notification.emailed_at is None  # released, so a retry may send it


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("no mail server")


# --- Overdue loans ---------------------------------------------------------------------


def test_an_overdue_reminder_asks_the_borrower_and_tells_the_lender(act, loan_request, alice, bob):
    act(es.exchange_accept, exchange=loan_request, by=alice)
    act(es.exchange_start, exchange=loan_request, by=alice)
    mail.outbox.clear()
    loan_overdue.send(sender=type(loan_request), exchange=loan_request, days_late=2)

    to_bob = Notification.objects.get(member=bob, kind="loan_overdue")
    to_alice = Notification.objects.get(member=alice, kind="loan_overdue")
    assert to_bob.needs_action and not to_alice.needs_action
    assert to_bob.text == "“Cordless drill” was due back 2 days ago: please return it to Alice."
    assert to_alice.text == "Bob has not returned “Cordless drill”: 2 days late."
    with translation.override("fr"):
        assert to_bob.text == (
            "« Cordless drill » devait être rendu il y a 2 jours : merci de le rendre à Alice."
        )
        assert to_alice.text == "Bob n’a pas rendu « Cordless drill » : 2 jours de retard."
    assert [m.to for m in mail.outbox] == [[bob.email]]
    assert f"/exchanges/{loan_request.pk}/" in mail.outbox[0].body

    # The same reminder replayed: nothing more.
    loan_overdue.send(sender=type(loan_request), exchange=loan_request, days_late=2)
    assert Notification.objects.filter(kind="loan_overdue").count() == 2
    assert len(mail.outbox) == 1
