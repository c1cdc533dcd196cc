"""Delete my account: what must be settled first, and what deleting erases or keeps.

Deleting is refused while others still depend on the member: an exchange that is not
finished (a request, an agreed deal, a loan not returned, a dispute), or a negative
time balance (those hours are owed to the community). Otherwise personal data is
erased at once and for good. The member row itself stays, anonymised, because other
members' records point at it: the other side of each exchange, reviews, the ledger's
transfers (which must keep summing to zero), and conversations they took part in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.db import transaction
from django.db.models import ProtectedError, Q, RestrictedError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from members.models import ConsentRecord, Member
from messaging import live

# Stored in place of an erased body (the body may not be empty); members read
# Message.shown_body, which says "deleted" in their language.
ERASED_MESSAGE = "deleted"


@dataclass(frozen=True)
class Blocker:
    """Something to settle before the account can go, with where to settle it."""

    text: str
    url: str


def account_delete_blockers(member: Member) -> list[Blocker]:
    """What stops the member from deleting their account now (empty: nothing)."""
    from exchanges.models import HOLDING_STATES, OPEN_STATES, Exchange, ExchangeKind
    from ledger.models import Account

    blockers: list[Blocker] = []
    open_exchanges = Exchange.objects.filter(Q(asker=member) | Q(owner=member),
                                             state__in=OPEN_STATES).select_related("listing")
    unreturned = [e for e in open_exchanges
                  if e.kind == ExchangeKind.LOAN and e.asker_id == member.pk
                  and e.state in HOLDING_STATES and e.state != "accepted"]
    for loan in unreturned:
        blockers.append(Blocker(
            _("You still have “%(listing)s”: return it and let the owner confirm.")
            % {"listing": loan.listing.title},
            loan.get_absolute_url(),
        ))
    others = [e for e in open_exchanges if e not in unreturned]
    if others:
        blockers.append(Blocker(
            ngettext(
                "%(count)s exchange is not finished: complete, decline or cancel it.",
                "%(count)s exchanges are not finished: complete, decline or cancel them.",
                len(others),
            ) % {"count": len(others)},
            reverse("exchanges:list"),
        ))
    account = Account.objects.filter(member=member).first()
    if account is not None and account.balance_minutes < 0:
        hours, minutes = divmod(-account.balance_minutes, 60)
        blockers.append(Blocker(
            _("Your time balance is %(hours)s h %(minutes)02d below zero: those hours are owed "
              "to the community. Give a service to bring it back to zero.")
            % {"hours": hours, "minutes": minutes},
            reverse("ledger:account"),
        ))
    return blockers


class AccountNotDeletable(Exception):
    def __init__(self, blockers: list[Blocker]):
        super().__init__("; ".join(b.text for b in blockers))
        self.blockers = blockers


def _delete_files(*fields) -> None:
    for field in fields:
        if field:
            name, storage = field.name, field.storage
            transaction.on_commit(lambda name=name, storage=storage: storage.delete(name))


@transaction.atomic
def account_delete(*, member: Member) -> Member:
    """Erase the member's personal data, or raise AccountNotDeletable listing what to
    settle first (nothing changes then). Guarantees, in one transaction:
    - the member can never sign in again, and their email is free to sign up anew;
    - name, email, photo, bio, languages, location, consents, listing descriptions and
      photos, saved searches, notifications, blocks and devices are gone; the bodies of
      their messages read "deleted";
    - exchanges, reviews, ledger transfers and conversations stay for the other
      members, showing "Former member";
    - every session ends and every open socket closes."""
    from django.contrib.sessions.models import Session

    locked = Member.objects.select_for_update().get(pk=member.pk)
    if locked.erased_at is not None:
        return locked
    blockers = account_delete_blockers(locked)
    if blockers:
        raise AccountNotDeletable(blockers)

    _erase_listings(locked)
    _erase_messaging(locked)
    _erase_sessions(locked, Session)

    _delete_files(locked.avatar, locked.avatar_thumbnail)
    ConsentRecord.objects.filter(member=locked).delete()
    EmailAddress.objects.filter(user=locked).delete()

    locked.email = f"erased-{locked.pk}-{secrets.token_hex(6)}@erased.invalid"
    locked.display_name = ""
    locked.bio = locked.neighbourhood = locked.languages = locked.home_place = ""
    locked.avatar = locked.avatar_thumbnail = ""
    locked.location_consent = False
    locked.home_lat = locked.home_lng = locked.approx_lat = locked.approx_lng = None
    locked.is_active = False
    locked.is_staff = locked.is_superuser = False
    locked.set_unusable_password()
    locked.erased_at = timezone.now()
    locked.save()
    locked.groups.clear()
    locked.user_permissions.clear()
    live.close_member_sockets(locked.pk)
    return locked


def _erase_listings(member: Member) -> None:
    from exchanges.models import Exchange
    from listings.models import Listing, Photo, SavedSearch, Status

    photos = Photo.objects.filter(listing__owner=member)
    for photo in photos:
        _delete_files(photo.image, photo.thumbnail)
    photos.delete()
    listings = Listing.objects.filter(owner=member)
    # A listing some deal points at stays, closed and emptied, so the other party's
    # exchange still says what it was about; the rest go entirely.
    in_deals = set(Exchange.objects.filter(listing__owner=member).values_list("listing_id", flat=True))
    in_deals |= set(Exchange.objects.filter(offered_listings__owner=member)
                    .values_list("offered_listings", flat=True))
    removable = listings.exclude(pk__in=in_deals)
    for listing in removable:
        try:
            with transaction.atomic():
                listing.delete()
        except (ProtectedError, RestrictedError):  # still referenced elsewhere: keep it
            in_deals.add(listing.pk)
    Listing.objects.filter(owner=member, pk__in=in_deals).update(
        description="", status=Status.CLOSED, updated_at=timezone.now(),
    )
    SavedSearch.objects.filter(owner=member).delete()


def _erase_messaging(member: Member) -> None:
    from messaging.models import Block, Message, Notification, Participant, SocketPresence

    Message.objects.filter(sender=member).update(body=ERASED_MESSAGE, attached_listing=None,
                                                erased_at=timezone.now())
    Participant.objects.filter(member=member, left_at__isnull=True).update(left_at=timezone.now())
    Notification.objects.filter(member=member).delete()
    Block.objects.filter(Q(blocker=member) | Q(blocked=member)).delete()
    SocketPresence.objects.filter(member=member).delete()


def _erase_sessions(member: Member, Session) -> None:
    from allauth.usersessions.models import UserSession

    keys = list(UserSession.objects.filter(user=member).values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(user=member).delete()
