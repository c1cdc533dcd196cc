"""Property-based tests of message_post with arbitrary bodies: refused (ChatError, nothing
stored) exactly when the body is empty after trimming or longer than 4,000 characters;
otherwise stored trimmed, and the conversation page shows it escaped.

Each hypothesis example runs inside its own transaction.atomic() that is rolled back,
so every example posts into the same empty conversation (function-scoped fixtures on
purpose, hence the suppressed health check). The chat rate limit counts in the cache,
which each example empties: it is the test's own private cache (tests/conftest.py)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils.html import escape
from django.utils.text import normalize_newlines
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from listings.models import Terms
from messaging import conversations
from messaging.conversations import ChatError
from messaging.models import MESSAGE_MAX_LENGTH, Message
from tests.factories import ListingFactory

pytestmark = pytest.mark.django_db

with_db = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# PostgreSQL cannot store NUL in text: see test_a_nul_character_is_a_chat_error_or_left_out.
characters = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
whitespace = st.text(alphabet=" \t\r\n\u00a0\u2002\u3000\u2028\x0b\x0c", max_size=20)
markup = st.sampled_from([
    "<script>alert('x')</script>", '<img src=x onerror="alert(1)">', "</p><b>bold</b>",
    "&amp; &lt;", "{{ user.email }}",
])
bodies = st.one_of(
    st.text(characters, max_size=80),
    whitespace,
    # Around the limit, with trimmable whitespace on both sides.
    st.builds(lambda left, n, right: left + "ü" * n + right,
              whitespace, st.integers(MESSAGE_MAX_LENGTH - 3, MESSAGE_MAX_LENGTH + 3), whitespace),
    st.builds(lambda a, m, b: a + m + b, st.text(characters, max_size=40), markup,
              st.text(characters, max_size=40)),
)


def acceptable(body: str) -> bool:
    return 0 < len(body.strip()) <= MESSAGE_MAX_LENGTH


@pytest.fixture
def chat(alice, bob):
    drill = ListingFactory(owner=alice, terms=Terms.LEND, title="Cordless drill")
    return conversations.conversation_for_listing(listing=drill, member=bob)


@with_db
@given(body=bodies)
@example(body=" \n\t ")
@example(body=" " + "x" * MESSAGE_MAX_LENGTH + "\n")
@example(body="x" * (MESSAGE_MAX_LENGTH + 1))
@example(body="line one\r\nline <two>\n\n& three")
def test_a_body_is_refused_iff_empty_or_too_long_and_otherwise_stored_trimmed_and_shown_escaped(
    chat, bob, client, body
):
    client.force_login(bob)
    with transaction.atomic():
        cache.clear()
        try:
            posted = conversations.message_post(conversation=chat, sender=bob, body=body)
        except ChatError as error:
            assert not acceptable(body), error.messages
            assert error.code == "invalid"
            assert not Message.objects.exists()
        else:
            assert acceptable(body)
            message = Message.objects.get()
            assert posted.created and message.pk == posted.message.pk
            assert message.body == body.strip()

            page = client.get(reverse("conversations:detail", args=[chat.pk]))
            assert page.status_code == 200
            html = page.content.decode()
            # linebreaksbr: each line escaped on its own, joined by <br>.
            for line in normalize_newlines(message.body).split("\n"):
                assert escape(line) in html
            for raw in ("<script>alert('x')</script>", '<img src=x onerror="alert(1)">',
                        "<b>bold</b>"):
                if raw in body:
                    assert raw not in html
        transaction.set_rollback(True)


@pytest.mark.parametrize("body", [None, 42, b"bytes", ["Hello"], {"text": "Hello"}])
def test_a_body_that_is_not_text_is_a_chat_error(chat, bob, body):
    with pytest.raises(ChatError):
        conversations.message_post(conversation=chat, sender=bob, body=body)
    assert not Message.objects.exists()


@pytest.mark.parametrize("body", ["\x00", "Hello\x00world"])
def test_a_nul_character_is_a_chat_error_or_left_out(chat, bob, body):
    try:
        with transaction.atomic():
            conversations.message_post(conversation=chat, sender=bob, body=body)
    except ChatError:
        assert not Message.objects.exists()
    else:
        assert "\x00" not in Message.objects.get().body
