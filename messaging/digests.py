"""Email digests, run from cron: never one email per message or per match.

- Unread messages (`messaging_digest`, every few minutes): a member with messages unread
  for UNREAD_AFTER and no live socket gets one email listing the conversations and how
  many messages wait in each. Participant.last_emailed_message_id records what an email
  already told them, so the next run sends nothing more about the same messages.
- Saved searches (`saved_search_digest`, daily): a member whose saved searches have
  email on gets one email with the listings that matched since the last digest
  (SavedSearchMatch.emailed_at).

Both claim what they send with a conditional UPDATE before sending (two runs at once
never send the same thing twice) and release the claim if the mail server fails.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from listings.models import Listing, SavedSearchMatch
from members.models import Member
from messaging import presence
from messaging.models import Conversation, ConversationKind, Message, Participant
from messaging.services import _absolute, _language_for, member_accepts_email

logger = logging.getLogger(__name__)

UNREAD_AFTER = timedelta(minutes=15)


@dataclass
class DigestResult:
    members_emailed: int = 0
    skipped_online: int = 0
    skipped_no_email: int = 0
    failed: int = 0
    details: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# Unread messages
# ---------------------------------------------------------------------------------------


def _pending() -> Q:
    """Messages of the outer participant's conversation not read and not yet emailed."""
    return (
        Q(conversation=OuterRef("conversation"))
        & Q(id__gt=OuterRef("last_read_message_id"))
        & Q(id__gt=OuterRef("last_emailed_message_id"))
        & Q(hidden_at__isnull=True)
    )


def conversation_title(conversation: Conversation) -> str:
    listing = conversation.listing
    if listing is None and conversation.exchange_id:
        listing = conversation.exchange.listing
    if conversation.kind == ConversationKind.RIDE and listing is not None:
        return _("Ride group: %(title)s") % {"title": listing.title}
    if listing is not None:
        return listing.title
    return _("Conversation #%(number)s") % {"number": conversation.pk}


@dataclass
class _Waiting:
    participant: Participant
    unread: int
    newest_id: int


def _waiting_by_member(now) -> dict[int, list[_Waiting]]:
    """Participants with at least one pending message older than UNREAD_AFTER, and for
    each the count and newest id of all their pending messages (a digest tells
    everything that waits, not only what is old)."""
    old_enough = Message.objects.filter(
        _pending(), created_at__lte=now - UNREAD_AFTER
    ).exclude(sender=OuterRef("member"))
    participants = (
        Participant.objects.filter(left_at__isnull=True, member__is_active=True)
        .exclude(member__email="")
        .filter(Exists(old_enough))
        .select_related("member", "conversation__listing", "conversation__exchange__listing")
        .order_by("member_id", "conversation_id")
    )
    waiting: dict[int, list[_Waiting]] = defaultdict(list)
    for participant in participants:
        stats = (
            Message.objects.filter(
                conversation_id=participant.conversation_id, hidden_at__isnull=True,
                id__gt=max(participant.last_read_message_id,
                           participant.last_emailed_message_id),
            )
            .exclude(sender=participant.member)
            .aggregate(n=Count("id"), newest=Max("id"))
        )
        if stats["n"]:
            waiting[participant.member_id].append(
                _Waiting(participant, stats["n"], stats["newest"])
            )
    return waiting


def _claim(items: list[_Waiting]) -> list[_Waiting]:
    claimed = []
    for item in items:
        participant = item.participant
        if Participant.objects.filter(
            pk=participant.pk, last_emailed_message_id=participant.last_emailed_message_id
        ).update(last_emailed_message_id=item.newest_id):
            claimed.append(item)
    return claimed


def _release(items: list[_Waiting]) -> None:
    for item in items:
        Participant.objects.filter(
            pk=item.participant.pk, last_emailed_message_id=item.newest_id
        ).update(last_emailed_message_id=item.participant.last_emailed_message_id)


def _send_unread_email(member: Member, items: list[_Waiting]) -> None:
    with translation.override(_language_for(member)):
        total = sum(item.unread for item in items)
        conversations = [
            {
                "title": conversation_title(item.participant.conversation),
                "unread": item.unread,
                "link": _absolute(item.participant.conversation.get_absolute_url()),
            }
            for item in items
        ]
        subject = ngettext(
            "[%(site)s] %(count)s unread message",
            "[%(site)s] %(count)s unread messages",
            total,
        ) % {"site": settings.SITE_NAME, "count": total}
        body = render_to_string("messaging/email/unread_digest.txt", {
            "member": member,
            "conversations": conversations,
            "total": total,
            "inbox_link": _absolute(reverse("conversations:inbox")),
            "site_name": settings.SITE_NAME,
        })
    send_mail(subject, body, None, [member.email], fail_silently=False)


def unread_digest_send(*, now=None, dry_run: bool = False) -> DigestResult:
    """Email each member who has messages unread for UNREAD_AFTER, no live socket, and
    accepts email: one email for all their conversations. Guarantees: a message is in
    at most one digest (claimed before sending, released if sending fails); members
    looking at the site (a fresh SocketPresence row) get nothing."""
    now = now or timezone.now()
    result = DigestResult()
    presence.presence_prune()
    waiting = _waiting_by_member(now)
    online = presence.online_member_ids(waiting.keys())
    for member_id, items in waiting.items():
        member = items[0].participant.member
        if member_id in online:
            result.skipped_online += 1
            continue
        if not member_accepts_email(member):
            result.skipped_no_email += 1
            continue
        if dry_run:
            result.details.append(f"{member.email}: {sum(i.unread for i in items)} unread")
            result.members_emailed += 1
            continue
        claimed = _claim(items)
        if not claimed:
            continue
        try:
            _send_unread_email(member, claimed)
        except Exception:
            logger.exception("Unread digest to member %s not sent", member_id)
            _release(claimed)
            result.failed += 1
            continue
        result.members_emailed += 1
    return result


# ---------------------------------------------------------------------------------------
# Saved searches
# ---------------------------------------------------------------------------------------


def saved_search_digest_send(*, dry_run: bool = False) -> DigestResult:
    """One email per member with the listings that matched their email-on saved
    searches since the last digest. Guarantees: each match is emailed at most once
    (claimed with a conditional update before sending, released on failure); a listing
    no longer public by now is left out (and not offered again); nothing goes to
    members who are inactive or withdrew email consent."""
    result = DigestResult()
    pending = (
        SavedSearchMatch.objects.filter(
            emailed_at__isnull=True, saved_search__notify_email=True,
            saved_search__owner__is_active=True,
        )
        .exclude(saved_search__owner__email="")
        .select_related("saved_search__owner", "listing")
        .order_by("saved_search__owner_id", "saved_search_id", "created_at", "id")
    )
    by_member: dict[int, list[SavedSearchMatch]] = defaultdict(list)
    for match in pending:
        by_member[match.saved_search.owner_id].append(match)
    public_ids = set(
        Listing.objects.visible_to_public()
        .filter(pk__in={m.listing_id for matches in by_member.values() for m in matches})
        .values_list("pk", flat=True)
    )
    now = timezone.now()
    for matches in by_member.values():
        member = matches[0].saved_search.owner
        if not member_accepts_email(member):
            result.skipped_no_email += 1
            continue
        if dry_run:
            result.details.append(f"{member.email}: {len(matches)} matches")
            result.members_emailed += 1
            continue
        ids = [match.pk for match in matches]
        # The run's timestamp is its claim: what another run took first keeps its own.
        SavedSearchMatch.objects.filter(pk__in=ids, emailed_at__isnull=True).update(
            emailed_at=now
        )
        claimed_ids = set(
            SavedSearchMatch.objects.filter(pk__in=ids, emailed_at=now)
            .values_list("pk", flat=True)
        )
        shown = [m for m in matches if m.pk in claimed_ids and m.listing_id in public_ids]
        if not shown:
            continue
        try:
            _send_saved_search_email(member, shown)
        except Exception:
            logger.exception("Saved-search digest to member %s not sent", member.pk)
            SavedSearchMatch.objects.filter(pk__in=claimed_ids, emailed_at=now).update(
                emailed_at=None
            )
            result.failed += 1
            continue
        result.members_emailed += 1
    return result


def _send_saved_search_email(member: Member, matches: list[SavedSearchMatch]) -> None:
    searches: dict[int, dict] = {}
    for match in matches:
        search = match.saved_search
        entry = searches.setdefault(search.pk, {
            "name": search.name, "link": _absolute(search.get_results_url()), "listings": [],
        })
        entry["listings"].append({
            "title": match.listing.title,
            "link": _absolute(match.listing.get_absolute_url()),
        })
    with translation.override(_language_for(member)):
        subject = ngettext(
            "[%(site)s] %(count)s new listing for your saved searches",
            "[%(site)s] %(count)s new listings for your saved searches",
            len(matches),
        ) % {"site": settings.SITE_NAME, "count": len(matches)}
        body = render_to_string("messaging/email/saved_search_digest.txt", {
            "member": member,
            "searches": list(searches.values()),
            "manage_link": _absolute(reverse("listings:saved")),
            "site_name": settings.SITE_NAME,
        })
    send_mail(subject, body, None, [member.email], fail_silently=False)
