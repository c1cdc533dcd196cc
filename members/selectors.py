"""Reads the members pages share."""

from __future__ import annotations

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
