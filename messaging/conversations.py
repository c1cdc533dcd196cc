"""Every change to conversations: open one, post, read, block, join and leave rides.

Guarantees shared by every function here:
- one conversation per (listing, member) pair, per exchange and per ride, also when two
  requests race (unique constraints; the loser reads the winner's row);
- a message is stored, in its own transaction, before anyone hears of it: live frames
  and unread counts are sent after commit (messaging.live) and never break the caller;
- between two members where either blocked the other, no new message is accepted in a
  one-to-one conversation; the blocked member is only told it cannot be sent;
- a member posts at most RATE_LIMIT messages per RATE_WINDOW seconds, counted in the
  cache (Redis in production, so every worker shares the count).
"""

from __future__ import annotations

import logging
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.transaction import TransactionManagementError
from django.utils import timezone
from django.utils.translation import gettext as _

from exchanges.models import HOLDING_STATES, Exchange, ExchangeKind, State
from listings.models import Kind, Listing, Status
from members.models import Member
from members.standing import standing_message
from messaging import counts, live, selectors
from messaging.models import (
    MESSAGE_MAX_LENGTH,
    Block,
    Conversation,
    ConversationKind,
    Message,
    Participant,
)
from messaging.sockets import layer_send, layer_send_many

logger = logging.getLogger(__name__)

RATE_LIMIT = 20
RATE_WINDOW = 10  # seconds
# How many missed messages one resume sends; the page asks again for the rest.
RESUME_LIMIT = 500
# A resent message stored longer ago than this is not broadcast again (see _resent).
REBROADCAST_WITHIN = timedelta(minutes=2)


class ChatError(ValidationError):
    """A refusal meant for the member; `code` is what an error frame carries."""


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def _broadcast(conversation_id: int, event: dict[str, Any]) -> None:
    """Send a channel-layer event to every open socket of the conversation once the
    transaction commits. Never raises: live frames are extra, clients resume."""
    group = conversation_group(conversation_id)
    transaction.on_commit(lambda: layer_send(group, event))


def _activity_sends(conversation_id: int, member_ids: list[int]) -> list[tuple[str, dict]]:
    """"This conversation has a new message", for every open page of these members:
    their inbox rows (order, excerpt, unread figure) change even when their navigation
    counts do not."""
    event = {"type": "live.event",
             "payload": {"type": "conversation", "conversation": conversation_id}}
    return [(live.member_group(member_id), event) for member_id in member_ids]


# --- Who may do what -------------------------------------------------------------------


def member_may_chat(member: Member | None) -> bool:
    """Signed-in, active (not suspended or removed) members only."""
    return bool(member is not None and member.is_authenticated and member.is_active)


def is_blocked_between(a_id: int, b_id: int) -> bool:
    return Block.objects.filter(
        Q(blocker_id=a_id, blocked_id=b_id) | Q(blocker_id=b_id, blocked_id=a_id)
    ).exists()


def has_blocked(blocker: Member, blocked_id: int) -> bool:
    return Block.objects.filter(blocker=blocker, blocked_id=blocked_id).exists()


def active_participant(conversation_id: int, member: Member) -> Participant | None:
    """The member's place in the conversation, or None if they are not (or no longer)
    in it."""
    if not member_may_chat(member):
        return None
    return (
        Participant.objects.select_related("conversation")
        .filter(conversation_id=conversation_id, member=member, left_at__isnull=True)
        .first()
    )


def other_member(conversation: Conversation, member: Member) -> Member | None:
    """In a one-to-one conversation, the other member (None in groups)."""
    if not conversation.is_one_to_one:
        return None
    other = (
        Participant.objects.select_related("member")
        .filter(conversation=conversation).exclude(member=member).first()
    )
    return other.member if other else None


def connectable_conversation(conversation_id: int, member: Member) -> Conversation | None:
    """The conversation a socket of `member` may follow, or None: they are an active
    participant whom the other member of a one-to-one conversation has not blocked."""
    participant = active_participant(conversation_id, member)
    if participant is None:
        return None
    conversation = participant.conversation
    if conversation.is_one_to_one:
        other = other_member(conversation, member)
        if other is not None and has_blocked(other, member.pk):
            return None
    return conversation


def may_connect(conversation_id: int, member: Member) -> bool:
    """Whether a socket of `member` may follow the conversation (see
    connectable_conversation)."""
    return connectable_conversation(conversation_id, member) is not None


def posting_refusal(conversation: Conversation, member: Member) -> str | None:
    """Why `member` cannot post here now, worded for them, or None. A blocked member
    gets the same neutral sentence as anyone else refused: never that they are blocked."""
    if conversation.is_one_to_one:
        other = other_member(conversation, member)
        if other is None or not other.is_active:
            return _("You can't send messages in this conversation.")
        if has_blocked(member, other.pk):
            return _("You blocked %(name)s. Unblock them to send messages.") % {
                "name": other.public_name
            }
        if has_blocked(other, member.pk):
            return _("You can't send messages in this conversation.")
    return None


# --- Opening conversations -------------------------------------------------------------


def _get_or_create(lookup: dict[str, Any], members: list[Member]) -> tuple[Conversation, bool]:
    """The conversation matching `lookup` (fields that a unique constraint covers), made
    with `members` as participants if it did not exist. Two racing callers end with the
    same row: the insert that loses on the constraint rolls back to its savepoint and
    reads the winner's."""
    existing = Conversation.objects.filter(**lookup).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(**lookup)
            Participant.objects.bulk_create(
                [Participant(conversation=conversation, member=m) for m in members]
            )
    except IntegrityError:
        return Conversation.objects.get(**lookup), False
    return conversation, True


def conversation_for_listing(*, listing: Listing, member: Member) -> Conversation:
    """The one conversation between `member` and the owner of a listing (or, for a
    wanted post, with its author), made on first use. Refused for one's own listing, and
    for listings nobody else may see."""
    if not member_may_chat(member):
        raise ChatError(_("You can't send messages at the moment."), code="forbidden")
    if listing.owner_id == member.pk:
        raise ChatError(_("This is your own listing."), code="invalid")
    if listing.status != Status.ACTIVE:
        raise ChatError(_("This listing is not available at the moment."), code="invalid")
    kind = ConversationKind.WANTED if listing.kind == Kind.WANTED else ConversationKind.LISTING
    conversation, _created = _get_or_create(
        {"kind": kind, "listing": listing, "member": member}, [listing.owner, member]
    )
    return conversation


def conversation_for_exchange(*, exchange: Exchange, member: Member) -> Conversation:
    """The conversation of a deal between its two parties, made on first use. Only a
    party may open it."""
    if exchange.role_of(member) is None:
        raise ChatError(_("You are not part of this exchange."), code="forbidden")
    conversation, _created = _get_or_create(
        {"kind": ConversationKind.EXCHANGE, "exchange": exchange, "listing_id": exchange.listing_id},
        [exchange.owner, exchange.asker],
    )
    return conversation


def ride_conversation_of(listing: Listing) -> Conversation | None:
    return Conversation.objects.filter(kind=ConversationKind.RIDE, listing=listing).first()


@transaction.atomic
def ride_conversation_sync(*, listing: Listing) -> Conversation | None:
    """Bring the ride's group in line with its bookings: the driver and every passenger
    whose booking holds seats (or was completed) are in it; a passenger whose booking
    ended otherwise (cancelled, declined, expired) has left it. Nothing is made for a
    ride nobody booked. Idempotent; concurrent calls serialise on the conversation row."""
    booked_ids = set(
        Exchange.objects.filter(
            listing=listing, kind=ExchangeKind.RIDE,
            state__in=[*HOLDING_STATES, State.COMPLETED],
        ).values_list("asker_id", flat=True)
    )
    conversation = ride_conversation_of(listing)
    if conversation is None:
        if not booked_ids:
            return None
        conversation, _created = _get_or_create(
            {"kind": ConversationKind.RIDE, "listing": listing}, [listing.owner]
        )
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    wanted_ids = booked_ids | {listing.owner_id}
    places = {p.member_id: p for p in Participant.objects.filter(conversation=conversation)}
    now = timezone.now()
    changed: set[int] = set()
    for member_id in wanted_ids:
        place = places.get(member_id)
        if place is None:
            Participant.objects.create(conversation=conversation, member_id=member_id)
            changed.add(member_id)
        elif place.left_at is not None:
            Participant.objects.filter(pk=place.pk).update(left_at=None)
            changed.add(member_id)
    for member_id, place in places.items():
        if member_id not in wanted_ids and place.left_at is None:
            Participant.objects.filter(pk=place.pk).update(left_at=now)
            changed.add(member_id)
            # Their open sockets on this conversation stop following it.
            _broadcast(conversation.pk, {"type": "chat.left", "member": member_id})
    for member_id in changed:
        counts.push_counts(member_id)
    return conversation


# --- Messages --------------------------------------------------------------------------


def clean_body(body: Any) -> str:
    """The body as stored: trimmed, 1 to MESSAGE_MAX_LENGTH characters, or ChatError."""
    if not isinstance(body, str):
        raise ChatError(_("Write a message."), code="invalid")
    # NUL is no text anyone types, and PostgreSQL refuses it in text columns.
    body = body.replace("\x00", "").strip()
    if not _is_unicode_text(body):
        raise ChatError(_("This message contains characters that can't be sent."),
                        code="invalid")
    if not body:
        raise ChatError(_("Write a message."), code="invalid")
    if len(body) > MESSAGE_MAX_LENGTH:
        raise ChatError(
            _("A message is at most %(max)s characters (this one has %(count)s).")
            % {"max": MESSAGE_MAX_LENGTH, "count": len(body)},
            code="invalid",
        )
    return body


def _is_unicode_text(text: str) -> bool:
    """False for a lone surrogate ("\\ud800" in JSON decodes to one): no character,
    unstorable in UTF-8, and PostgreSQL refuses the whole statement."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _take_rate_slot(member_id: int) -> bool:
    """Count one message for the member; False once the window's allowance is used.
    The window starts at the first message and lasts RATE_WINDOW seconds (the key's
    expiry), so a burst cannot straddle two fixed windows."""
    key = f"chat-rate:{member_id}"
    incr_in_window = getattr(cache, "incr_in_window", None)
    if incr_in_window is not None:  # the Redis cache (config.cache): one round trip
        return incr_in_window(key, RATE_WINDOW) <= RATE_LIMIT
    if cache.add(key, 1, timeout=RATE_WINDOW):
        return True
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr: a fresh window
        cache.add(key, 1, timeout=RATE_WINDOW)
        return True
    return used <= RATE_LIMIT


def message_payload(message: Message) -> dict[str, Any]:
    """What sockets receive for a message (the browser escapes it: textContent)."""
    sender = message.sender
    return {
        "type": "message",
        "id": message.pk,
        "conversation": message.conversation_id,
        "sender": message.sender_id,
        "sender_name": sender.public_name if sender else _("Former member"),
        "body": message.shown_body,
        "created_at": message.created_at.isoformat(),
        "client_id": str(message.client_id) if message.client_id else None,
    }


def _parse_client_id(client_id: Any) -> uuid.UUID | None:
    if client_id in (None, ""):
        return None
    if isinstance(client_id, uuid.UUID):
        return client_id
    try:
        return uuid.UUID(str(client_id))
    except (ValueError, TypeError, AttributeError):
        raise ChatError(_("This message has an invalid id."), code="invalid") from None


@dataclass
class Posted:
    message: Message
    created: bool


def message_post(
    *,
    conversation: Conversation,
    sender: Member,
    body: Any,
    client_id: Any = None,
    attached_listing: Listing | None = None,
    origin: str | None = None,
) -> Posted:
    """Store a message from an active participant, then (after commit) broadcast it to
    the conversation's sockets and push new unread counts to the other participants.
    `origin` is the channel of the socket the message came from: its consumer answers
    it with an ack, so the broadcast skips it (the sender's other devices get it).
    Every participant's open pages hear that the conversation moved (inbox rows).

    Guarantees: the body is trimmed and 1–4,000 characters; a `client_id` already used
    by this sender returns the stored message (created=False) and nothing is sent again;
    blocks refuse in both directions (code "blocked"); more than RATE_LIMIT messages in
    RATE_WINDOW seconds are refused (code "rate_limited"); members who are inactive,
    suspended or banned, and non-participants, are refused (code "forbidden"). The
    sender's own read mark moves to their message. Within one conversation, message ids
    grow in commit order (posts serialise on the participants' rows), so a client that
    resumes from the last id it has cannot miss a message committed later.

    Cost, since every chat message comes through here: one read of the participants
    (with who may post and who already had unread messages), the insert, two updates;
    the unread counts are recomputed only for a participant whose count can change.
    A resent `client_id` is caught by the unique constraint, not looked up first."""
    client_uuid = _parse_client_id(client_id)
    try:
        if not member_may_chat(sender):
            raise ChatError(_("You can't send messages in this conversation."), code="forbidden")
        text = clean_body(body)
        # Counted before any transaction: a burst is refused without one lock taken.
        if not _take_rate_slot(sender.pk):
            raise ChatError(
                _("You are sending messages too fast. Wait a few seconds and try again."),
                code="rate_limited",
            )
        fast = _post_in_one_statement(conversation, sender, text, client_uuid,
                                      attached_listing)
        if fast is not None:
            message, places = fast
            _announce(conversation, message, places, origin)
            return Posted(message, True)
        # Refused, a resend, or SQLite: the same rules in Python, with the member's
        # reason when refused.
        with transaction.atomic():
            places = _participants_for_post(conversation, sender)
            mine = next((p for p in places if p.member_id == sender.pk), None)
            if mine is None:
                raise ChatError(_("You can't send messages in this conversation."),
                                code="forbidden")
            if not mine.member.may_act:
                # Read fresh with the row: a suspension lands between two messages.
                raise ChatError(standing_message(mine.member), code="forbidden")
            others = [p for p in places if p.member_id != sender.pk]
            if conversation.is_one_to_one and (
                len(others) != 1 or not others[0].member.is_active or others[0].blocked
            ):
                # The exact wording (who blocked whom) is worked out only on refusal.
                raise ChatError(posting_refusal(conversation, sender)
                                or _("You can't send messages in this conversation."),
                                code="blocked")
            message = _write_message(conversation, mine, text, client_uuid, attached_listing)
            _announce(conversation, message, places, origin)
    except IntegrityError:
        # The client_id was used before (a resend after a network blip, or the same
        # message racing in from a second connection): the stored message answers.
        existing = _already_posted(sender, client_uuid, conversation)
        if existing is None:
            raise
        return _resent(existing, origin)
    except ChatError as refusal:
        # A message stored before the refusal (blocked since, rate limit reached by
        # resends) is still acknowledged as stored.
        if refusal.code == "invalid":
            raise
        existing = _already_posted(sender, client_uuid, conversation)
        if existing is None:
            raise
        return _resent(existing, origin)
    return Posted(message, True)


def _resent(message: Message, origin: str | None) -> Posted:
    """A message sent again: its first broadcast may have died with the worker that
    stored it (between commit and publish), so a recent one goes out again. Sockets and
    pages that had it skip it by id (messaging.resync, chat.js); an older one is in
    every page's history or resume already, and would land at the bottom of a page
    that shows another window."""
    if message.hidden_at is None and timezone.now() - message.created_at < REBROADCAST_WITHIN:
        sends = [(conversation_group(message.conversation_id),
                             {"type": "chat.message", "origin": origin,
                              "payload": message_payload(message)})]
        transaction.on_commit(lambda: layer_send_many(sends))
    return Posted(message, False)


def _announce(conversation: Conversation, message: Message, places: list[_Place],
              origin: str | None) -> None:
    """After commit, in one go: the message to the conversation's sockets and the news
    to every page of its participants; new counts to those whose figures move."""
    sends = [(conversation_group(conversation.pk),
              {"type": "chat.message", "origin": origin, "payload": message_payload(message)}),
             *_activity_sends(conversation.pk, [place.member_id for place in places])]
    transaction.on_commit(lambda: layer_send_many(sends))
    for place in places:
        # Someone who already had an unread message here counts this conversation
        # already: their figures do not move.
        if place.member_id != message.sender_id and not place.had_unread:
            counts.push_counts(place.member_id)


# PostgreSQL: a message stored in one statement, so one round trip and no BEGIN/COMMIT.
# `places` is _participants_for_post's query (participants locked in id order, with
# had_unread and blocked); `mine` keeps the sender's place only when the rules pass: the
# sender may act (active, not banned, not suspended) and, in a one-to-one conversation,
# exactly one other participant, active, with no block either way. These are the rules
# of the Python path below, never looser: when they fail, or the client_id was used
# before (ON CONFLICT), nothing is written and no row comes back, and the Python path
# answers with the member's reason or the stored message.
# The columns _POST_TAIL writes: every column of a message but its id (a test checks).
POST_COLUMNS = ("conversation_id", "sender_id", "body", "client_id", "created_at",
                "attached_listing_id", "hidden_at", "erased_at")
_POST_TAIL = """,
mine AS MATERIALIZED (
    SELECT pk FROM places
    WHERE member_id = %s AND member__is_active AND member__banned_at IS NULL
      AND (member__suspended_until IS NULL OR member__suspended_until <= %s)
      AND (NOT %s OR (
          (SELECT count(*) FROM places WHERE member_id <> %s) = 1
          AND NOT EXISTS (SELECT 1 FROM places WHERE member_id <> %s
                          AND (NOT member__is_active OR blocked))))
),
message AS (
    INSERT INTO {message} ({columns})
    SELECT %s, %s, %s, %s, %s, %s, NULL, NULL FROM mine
    ON CONFLICT DO NOTHING
    RETURNING id
),
moved AS (
    UPDATE {conversation} SET last_message_at = %s
    WHERE id = %s AND EXISTS (SELECT 1 FROM message)
),
marked AS (
    UPDATE {participant} p SET last_read_message_id = message.id
    FROM message, mine
    WHERE p.id = mine.pk AND p.last_read_message_id < message.id
)
SELECT message.id, places.pk, places.member_id, places.member__display_name,
       places.had_unread
FROM message, places
""".format_map({"message": Message._meta.db_table, "conversation": Conversation._meta.db_table,
                 "participant": Participant._meta.db_table, "columns": ", ".join(POST_COLUMNS)})


_WRITE_SQL = [
    sql.format_map({"message": Message._meta.db_table, "columns": ", ".join(POST_COLUMNS),
                    "conversation": Conversation._meta.db_table,
                    "participant": Participant._meta.db_table,
                    "values": ", ".join(["%s"] * len(POST_COLUMNS))})
    for sql in (
        "INSERT INTO {message} ({columns}) VALUES ({values}) RETURNING id",
        "UPDATE {conversation} SET last_message_at = %s WHERE id = %s",
        "UPDATE {participant} SET last_read_message_id = %s"
        " WHERE id = %s AND last_read_message_id < %s",
    )
]


def _db_value(model: type, field: str, value: Any) -> Any:
    # As the ORM would write it (SQLite keeps UUIDs as hex and datetimes as text).
    return model._meta.get_field(field).get_db_prep_save(value, connection)


def _write_message(conversation: Conversation, mine: _Place, text: str,
                   client_uuid: uuid.UUID | None, attached_listing: Listing | None) -> Message:
    """Insert the message, move the conversation's activity time and the sender's read
    mark: the three writes of a post, inside the caller's transaction, as plain
    statements (through the ORM they cost several times the statements themselves)."""
    now = timezone.now()
    insert, move, mark = _WRITE_SQL
    with connection.cursor() as cursor:
        cursor.execute(insert, [
            conversation.pk, mine.member_id, text, _db_value(Message, "client_id", client_uuid),
            _db_value(Message, "created_at", now),
            attached_listing.pk if attached_listing is not None else None, None, None,
        ])
        message_id = cursor.fetchone()[0]
        cursor.execute(move, [_db_value(Conversation, "last_message_at", now), conversation.pk])
        cursor.execute(mark, [message_id, mine.pk, message_id])
    message = Message(pk=message_id, conversation=conversation, body=text,
                      client_id=client_uuid, created_at=now, attached_listing=attached_listing)
    # The name as it is now, not as it was when the socket connected.
    message.sender = mine.member
    message._state.adding = False
    message._state.db = connection.alias
    return message


def _places_sql(conversation: Conversation, sender: Member) -> tuple[str, list[Any]]:
    if conversation.is_one_to_one:
        compiled, values = _places_one_to_one, {"conversation": conversation.pk,
                                                "sender": sender.pk}
    else:
        compiled, values = _places_group, {"conversation": conversation.pk}
    try:
        return compiled.sql(**values)
    except TransactionManagementError:
        # The first time on this connection: compiling FOR UPDATE wants a
        # transaction, though nothing runs.
        with transaction.atomic():
            return compiled.sql(**values)


def _post_in_one_statement(conversation: Conversation, sender: Member, text: str,
                           client_uuid: uuid.UUID | None, attached_listing: Listing | None,
                           ) -> tuple[Message, list[_Place]] | None:
    """The message stored by _POST_TAIL and the participants as they were, or None
    when it stored nothing (or the database is not PostgreSQL)."""
    if connection.vendor != "postgresql":
        return None
    now = timezone.now()
    places_sql, params = _places_sql(conversation, sender)
    params += [sender.pk, now, conversation.is_one_to_one, sender.pk, sender.pk,
               conversation.pk, sender.pk, text, client_uuid, now,
               attached_listing.pk if attached_listing is not None else None,
               now, conversation.pk]
    sql = "WITH places AS MATERIALIZED (" + places_sql + ")" + _POST_TAIL
    # Inside a caller's transaction, a savepoint keeps a failed statement from breaking it.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with guard, connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return None
    places = [
        _Place(pk=place_pk, member=Member(pk=member_id, display_name=display_name),
               had_unread=bool(had_unread), blocked=False)
        for _id, place_pk, member_id, display_name, had_unread in rows
    ]
    message = Message(pk=rows[0][0], conversation=conversation, body=text,
                      client_id=client_uuid, created_at=now,
                      attached_listing=attached_listing)
    # The name as it is now, not as it was when the socket connected.
    message.sender = next(place.member for place in places if place.member_id == sender.pk)
    message._state.adding = False
    message._state.db = connection.alias
    return message, places


@dataclass
class _Place:
    """A current participant as a post sees it (see _participants_for_post)."""

    pk: int
    member: Member
    had_unread: bool
    blocked: bool

    @property
    def member_id(self) -> int:
        return self.member.pk


def _places_query(conversation: int, sender: int, one_to_one: bool) -> QuerySet:
    places = (
        Participant.objects.select_for_update(of=("self",))
        .filter(conversation_id=conversation, left_at__isnull=True)
        .annotate(had_unread=Exists(selectors.unread_messages_of(OuterRef("member"))))
        .order_by("pk")
    )
    if one_to_one:
        places = places.annotate(blocked=Exists(Block.objects.filter(
            Q(blocker=OuterRef("member"), blocked_id=sender)
            | Q(blocker_id=sender, blocked=OuterRef("member"))
        )))
    else:
        places = places.annotate(blocked=Value(False))
    return places.values_list(
        "pk", "member_id", "member__is_active", "member__banned_at",
        "member__suspended_until", "member__display_name", "had_unread", "blocked",
    )


# Read on every message: compiled to SQL once (see selectors.CompiledValues).
_places_one_to_one = selectors.CompiledValues(
    lambda conversation, sender: _places_query(conversation, sender, True))
_places_group = selectors.CompiledValues(
    lambda conversation: _places_query(conversation, 0, False))


def _participants_for_post(conversation: Conversation, sender: Member) -> list[_Place]:
    """The conversation's current participants with their members as they are now,
    locked until the transaction ends, each with `had_unread` (a visible message from
    someone else above their read mark) and, in one-to-one conversations, `blocked` (a
    block either way between them and the sender). One query.

    The lock is what makes `had_unread` safe to act on: a concurrent read mark waits
    for this post to commit, then pushes counts that include it."""
    if conversation.is_one_to_one:
        rows = _places_one_to_one.rows(conversation=conversation.pk, sender=sender.pk)
    else:
        rows = _places_group.rows(conversation=conversation.pk)
    return [
        _Place(pk=pk, member=Member(pk=member_id, is_active=is_active, banned_at=banned_at,
                                    suspended_until=suspended_until,
                                    display_name=display_name),
               had_unread=bool(had_unread), blocked=bool(blocked))
        for pk, member_id, is_active, banned_at, suspended_until, display_name, had_unread,
        blocked in rows
    ]


def _already_posted(sender: Member, client_uuid: uuid.UUID | None,
                    conversation: Conversation) -> Message | None:
    """The sender's message with this client_id, if any; ChatError if it belongs to
    another conversation (a client_id names one message)."""
    if client_uuid is None:
        return None
    existing = Message.objects.filter(sender=sender, client_id=client_uuid).first()
    if existing is not None and existing.conversation_id != conversation.pk:
        raise ChatError(_("This message has an invalid id."), code="invalid")
    return existing


def messages_after(*, conversation: Conversation, last_id: int,
                   limit: int = RESUME_LIMIT) -> list[Message]:
    """Visible messages with an id above `last_id`, oldest first (what a reconnecting
    client missed)."""
    return list(
        Message.objects.select_related("sender")
        .filter(conversation=conversation, id__gt=last_id, hidden_at__isnull=True)
        .order_by("id")[:limit]
    )


def conversation_mark_read(*, conversation: Conversation, member: Member,
                           last_id: int | None = None) -> int:
    """Mark the conversation read by `member` up to `last_id` (default: its newest
    message). Guarantees: the mark only moves forward and never past the newest
    message; when it moved, the other sockets hear "seen" and the member's devices get
    new unread counts (after commit). Returns the mark."""
    newest = (
        Message.objects.filter(conversation=conversation).order_by("-id")
        .values_list("id", flat=True).first()
    ) or 0
    target = newest if last_id is None else max(0, min(int(last_id), newest))
    with transaction.atomic():
        moved = Participant.objects.filter(
            conversation=conversation, member=member, left_at__isnull=True,
            last_read_message_id__lt=target,
        ).update(last_read_message_id=target)
        if moved:
            _broadcast(conversation.pk, {"type": "chat.seen", "member": member.pk,
                                         "last_id": target})
            counts.push_counts(member.pk)
    mark = Participant.objects.filter(conversation=conversation, member=member).values_list(
        "last_read_message_id", flat=True
    ).first()
    return mark or 0


# --- Blocks ----------------------------------------------------------------------------


def block_member(*, blocker: Member, blocked: Member) -> bool:
    """`blocker` stops all new messages with `blocked`, both ways; history stays
    readable. Idempotent (returns whether a block was added). The blocked member is not
    told; their open sockets on one-to-one conversations with the blocker are closed."""
    if blocker.pk == blocked.pk:
        raise ChatError(_("You cannot block yourself."), code="invalid")
    with transaction.atomic():
        _block, created = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
        if created:
            for conversation_id in shared_one_to_one_ids(blocker, blocked):
                _broadcast(conversation_id, {"type": "chat.blocked", "member": blocked.pk})
    return created


def unblock_member(*, blocker: Member, blocked: Member) -> bool:
    """Lift the block; returns whether there was one."""
    deleted, _details = Block.objects.filter(blocker=blocker, blocked=blocked).delete()
    return bool(deleted)


def shared_one_to_one_ids(a: Member, b: Member) -> list[int]:
    kinds = [ConversationKind.LISTING, ConversationKind.EXCHANGE, ConversationKind.WANTED]
    return list(
        Conversation.objects.filter(kind__in=kinds, participants__member=a)
        .filter(participants__member=b).values_list("pk", flat=True).distinct()
    )


# --- Wanted posts ----------------------------------------------------------------------


def attachable_listings(member: Member):
    """The member's own listings they may offer in answer to a wanted post."""
    return Listing.objects.filter(owner=member, status=Status.ACTIVE).exclude(kind=Kind.WANTED)


def wanted_answer(
    *, wanted: Listing, responder: Member, body: Any,
    attached_listing: Listing | None = None, client_id: Any = None,
) -> Posted:
    """Answer a wanted post: opens (or reuses) the conversation with its author and
    posts the answer, optionally offering one of the responder's own active listings.
    Same guarantees as message_post."""
    if wanted.kind != Kind.WANTED:
        raise ChatError(_("Only wanted posts can be answered this way."), code="invalid")
    if attached_listing is not None:
        attached_listing = attachable_listings(responder).filter(pk=attached_listing.pk).first()
        if attached_listing is None:
            raise ChatError(_("You can only offer your own active listings."), code="invalid")
    clean_body(body)  # refuse an empty answer before opening a conversation for it
    conversation = conversation_for_listing(listing=wanted, member=responder)
    return message_post(conversation=conversation, sender=responder, body=body,
                        client_id=client_id, attached_listing=attached_listing)


@dataclass
class AttachedRequest:
    """What asking for an attached listing led to: a new exchange, or (when the deal
    needs more than a click: dates, seats, items to swap) the listing whose request
    form the member should fill in."""

    exchange: Exchange | None
    listing: Listing


def request_attached_listing(*, message: Message, by: Member) -> AttachedRequest:
    """The wanted post's author asks for the listing offered in `message`, as an ordinary
    exchange request (exchanges.services.exchange_request, with all its rules). Sales,
    gifts and service trades need nothing more and are requested at once; loans, rides
    and swaps lead to their request form."""
    from exchanges import services as exchange_services

    conversation = message.conversation
    listing = message.attached_listing
    if (
        conversation.kind != ConversationKind.WANTED
        or conversation.listing is None
        or conversation.listing.owner_id != by.pk
        or listing is None
        or message.sender_id == by.pk
        or active_participant(conversation.pk, by) is None
    ):
        raise ChatError(_("There is no listing to ask for here."), code="invalid")
    kind = exchange_services.exchange_kind_for(listing)
    if kind is None or listing.status != Status.ACTIVE:
        raise ChatError(_("This listing is not available at the moment."), code="invalid")
    if kind not in (ExchangeKind.SALE, ExchangeKind.SERVICE):
        return AttachedRequest(None, listing)
    exchange = exchange_services.exchange_request(
        listing=listing, asker=by,
        message=_("Asked from the conversation about “%(title)s”.")
        % {"title": conversation.listing.title},
    )
    return AttachedRequest(exchange, listing)
