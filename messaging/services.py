"""Every change to notifications: create one (once per cause), email it, mark read.

These are the single place a notification is born, so the live push hooks in here:
every new notification, and every change to the unread count, reaches the member's open
sockets (messaging.live, after commit) on every device.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from members.models import Member
from messaging import live
from messaging.counts import push_counts
from messaging.models import NEEDS_ACTION, Notification, NotificationKind

logger = logging.getLogger(__name__)


def notification_create(
    *,
    member: Member,
    kind: str,
    dedupe_key: str,
    params: dict[str, Any] | None = None,
    url: str = "",
    exchange=None,
    needs_action: bool | None = None,
) -> tuple[Notification, bool]:
    """Record that `member` should know about something. Guarantees: at most one
    notification per (member, dedupe_key), also when the same cause is replayed or two
    processes race; returns (notification, created). `needs_action` defaults to the
    kind's (NEEDS_ACTION)."""
    if needs_action is None:
        needs_action = kind in NEEDS_ACTION
    existing = Notification.objects.filter(member=member, dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                member=member, kind=kind, dedupe_key=dedupe_key, params=params or {},
                url=url, exchange=exchange, needs_action=needs_action,
            )
    except IntegrityError:
        # Another process created it between the read and the insert.
        return Notification.objects.get(member=member, dedupe_key=dedupe_key), False
    notification_push(notification=notification)
    return notification, True


def notification_payload(notification: Notification) -> dict[str, Any]:
    """What a socket receives for a new notification. The text is worded in every
    language the site offers: each socket keeps the one its browser reads (a member's
    phone and laptop may differ); `text` is the member's default."""
    texts = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts[code] = notification.text
    return {
        "type": "notification",
        "id": notification.pk,
        "kind": notification.kind,
        "text": texts.get(_language_for(notification.member), notification.text),
        "texts": texts,
        # Only ever a path on this site (as the open view checks), else the list.
        "url": notification.url if _is_local_path(notification.url) else reverse("notifications:list"),
        "created_at": notification.created_at.isoformat(),
        "needs_action": notification.needs_action,
    }


def _is_local_path(url: str) -> bool:
    return url.startswith("/") and not url.startswith("//") and "\\" not in url


def notification_push(*, notification: Notification) -> None:
    """Announce a new notification and the new unread counts to every open socket of
    its member, once the current transaction commits."""
    live.push_to_member(notification.member_id, notification_payload(notification))
    push_counts(notification.member_id)


def _language_for(member: Member) -> str:
    # Members choose no language yet; issue 8 (preferences) may add one.
    return getattr(member, "language", "") or settings.LANGUAGE_CODE


def _absolute(url: str) -> str:
    return settings.SITE_URL.rstrip("/") + url if url.startswith("/") else url


# What the reader can do next, added to the email under the notification's sentence.
def _hints() -> dict[str, str]:
    return {
        NotificationKind.EXCHANGE_REQUESTED: _(
            "Please accept or decline it: without an answer the request expires."
        ),
        NotificationKind.EXCHANGE_ACCEPTED: _(
            "Agree with them on when and where to meet. Payment, if any, is made in person "
            "when you meet."
        ),
        NotificationKind.EXCHANGE_DISPUTED: _(
            "Read what they wrote and answer them; a moderator will help settle it."
        ),
        NotificationKind.LOAN_OVERDUE: _("Please bring it back, or agree on a new date with the owner."),
        NotificationKind.SERVICE_TIME_RECORDED: _(
            "Without an answer within 7 days, Partage confirms it and the hours move."
        ),
        NotificationKind.EXTENSION_REQUESTED: _(
            "Please accept or decline it before the loan ends."
        ),
    }


def notification_email(*, notification: Notification) -> bool:
    """Email a notification that needs action to its member, once. Guarantees: nothing
    is sent for kinds that need no action or to inactive members; `emailed_at` is
    claimed before sending, so a replay or a second process never sends it twice; a
    failed send is logged and released (it never breaks the caller). Returns whether
    it was sent."""
    member = notification.member
    if not notification.needs_action or not member.is_active or not member.email:
        return False
    now = timezone.now()
    claimed = Notification.objects.filter(
        pk=notification.pk, emailed_at__isnull=True
    ).update(emailed_at=now)
    if not claimed:
        return False
    try:
        with translation.override(_language_for(member)):
            context = {
                "member": member,
                "notification": notification,
                "text": notification.text,
                "hint": _hints().get(notification.kind, ""),
                "link": _absolute(notification.url),
                "notifications_link": _absolute(reverse("notifications:list")),
                "site_name": settings.SITE_NAME,
            }
            # One line whatever a title holds: a header never carries a newline.
            subject = " ".join(f"[{settings.SITE_NAME}] {notification.text}".split())
            body = render_to_string("messaging/email/notification.txt", context)
        send_mail(subject, body, None, [member.email], fail_silently=False)
    except Exception:
        # The deal is already committed: a mail server hiccup must not turn the page
        # into an error. Release the claim so a later retry may send it.
        logger.exception("Could not email notification %s", notification.pk)
        Notification.objects.filter(pk=notification.pk).update(emailed_at=None)
        return False
    notification.emailed_at = now
    return True


def notification_mark_read(*, notification: Notification) -> Notification:
    """Mark one notification read; reading it again keeps the first time."""
    if notification.read_at is None:
        now = timezone.now()
        changed = Notification.objects.filter(
            pk=notification.pk, read_at__isnull=True
        ).update(read_at=now)
        notification.read_at = now
        if changed:
            # The badge on the member's other devices drops at once.
            push_counts(notification.member_id)
    return notification


def notifications_mark_all_read(*, member: Member) -> int:
    """Mark every unread notification of the member read; returns how many."""
    count = Notification.objects.for_member(member).unread().update(read_at=timezone.now())
    if count:
        push_counts(member.pk)
    return count


def notifications_read_about(*, member: Member, exchange) -> int:
    """The member opened the exchange: every unread notification of theirs about it is
    read (they are looking at the thing itself). Returns how many; the badge on their
    other devices drops at once."""
    count = (
        Notification.objects.for_member(member).unread().filter(exchange=exchange)
        .update(read_at=timezone.now())
    )
    if count:
        push_counts(member.pk)
    return count


def notifications_settle(*, exchange, kinds: Iterable[str], member: Member | None = None,
                         exclude_key: str = "") -> int:
    """What these notifications about `exchange` asked for was done, or can no longer be
    (the request was answered, the review written, the time corrected): they are read
    and settled, so they no longer say "action needed". Only `member`'s when given,
    else both parties'; `exclude_key` spares the notification the settling event itself
    made. Idempotent. Returns how many changed; every device of each member concerned
    gets the new counts (and the notification list there follows)."""
    now = timezone.now()
    notifications = Notification.objects.filter(exchange=exchange, kind__in=list(kinds)).filter(
        Q(read_at__isnull=True) | Q(needs_action=True, settled_at__isnull=True)
    )
    if member is not None:
        notifications = notifications.filter(member=member)
    if exclude_key:
        notifications = notifications.exclude(dedupe_key=exclude_key)
    changed = 0
    with transaction.atomic():
        rows = list(notifications.select_for_update().values_list("pk", "member_id", "read_at"))
        if rows:
            ids = [pk for pk, _member, _read in rows]
            Notification.objects.filter(pk__in=ids, read_at__isnull=True).update(read_at=now)
            Notification.objects.filter(pk__in=ids, needs_action=True, settled_at__isnull=True).update(
                settled_at=now
            )
            changed = len(ids)
            for member_id in sorted({member_id for _pk, member_id, _read in rows}):
                push_counts(member_id)
    return changed


def member_accepts_email(member: Member) -> bool:
    """Whether the member may be sent optional emails (digests): while their email
    consent stands (members.services.member_set_consent)."""
    return member.email_consent


def unread_count(member: Member) -> int:
    return Notification.objects.for_member(member).unread().count()
