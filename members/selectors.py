"""Reads the members pages share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from members.models import ConsentRecord, Member

CONSENT_HISTORY_LIMIT = 50


def public_listings_of(member: Member) -> QuerySet:
    """The member's listings anyone may see (active, rides not yet gone), ready for
    listing cards, newest first."""
    # Imported here: listings depends on members, not the other way round; only this
    # page-level read looks across.
    from listings.models import Listing

    return (
        Listing.objects.visible_to_public()
        .for_cards()
        .filter(owner=member)
        .order_by("-created_at", "-id")
    )


def profile_visible_to(member: Member, user) -> bool:
    """Whether `user` may see the member's profile and reviews page: signed-in members
    always, visitors only when the member consented to show it to everyone."""
    return member.profile_public or user.is_authenticated


def consent_history(member: Member, kind: str = ConsentRecord.Kind.LOCATION) -> QuerySet:
    """The member's consent records of one kind, newest first (bounded)."""
    return ConsentRecord.objects.filter(member=member, kind=kind).order_by("-at", "-id")[
        :CONSENT_HISTORY_LIMIT
    ]


def location_consent_given(member: Member) -> ConsentRecord | None:
    """The record of the consent currently in force, if the member shares a location."""
    if not member.location_consent:
        return None
    return (
        ConsentRecord.objects.filter(
            member=member, kind=ConsentRecord.Kind.LOCATION, granted=True
        )
        .order_by("-at", "-id")
        .first()
    )


@dataclass(frozen=True)
class ConsentState:
    kind: str
    label: str
    granted: bool
    # When the consent in force was given or withdrawn; None when it is the default
    # the member never changed (the page then says since when they are a member).
    since: datetime | None


def consent_states(member: Member) -> list[ConsentState]:
    """Each consent of the member, in force now, with the time it was given or withdrawn."""
    granted = {
        ConsentRecord.Kind.LOCATION: member.location_consent,
        ConsentRecord.Kind.EMAIL: member.email_consent,
        ConsentRecord.Kind.PUBLIC_PROFILE: member.profile_public,
    }
    states = []
    for kind, label in ConsentRecord.Kind.choices:
        latest = (ConsentRecord.objects.filter(member=member, kind=kind)
                  .order_by("-at", "-id").first())
        in_force = latest if latest is not None and latest.granted == granted[kind] else None
        states.append(ConsentState(kind=kind, label=label, granted=granted[kind],
                                   since=in_force.at if in_force else None))
    return states
