"""Every change to a member's profile, location and consents.

Each service runs in one transaction on a locked copy of the member row, validates
before it writes, and either saves everything or raises ValidationError and changes
nothing (uploaded files included).
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from core import geo
from core.images import ProcessedImage, process_upload
from members.models import ConsentRecord, Member

logger = logging.getLogger(__name__)

LOCATION_FIELDS = [
    "location_consent", "home_lat", "home_lng", "approx_lat", "approx_lng", "home_place",
]
# A geolocated home is labelled "near <town>" only if a gazetteer town (over 15,000
# people) lies this close; beyond that the label would mislead more than it helps.
NEAREST_TOWN_MAX_KM = 40.0


def _lock(member: Member) -> Member:
    return Member.objects.select_for_update().get(pk=member.pk)


def _clean_languages(languages: str) -> str:
    """'french,  English,,italian ' -> 'french, English, italian' (duplicates dropped)."""
    seen: dict[str, str] = {}
    for part in languages.split(","):
        name = " ".join(part.split())
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return ", ".join(seen.values())


def member_update_profile(
    *,
    member: Member,
    display_name: str,
    bio: str,
    neighbourhood: str,
    languages: str,
    avatar: UploadedFile | None = None,
    remove_avatar: bool = False,
) -> Member:
    """Save the public profile.

    Guarantees: a new avatar is fully decoded and re-encoded as WebP (no EXIF, GPS or
    other metadata survives) before anything is written; a bad image or an invalid
    field raises ValidationError (keyed by field) and leaves the row and the stored
    files as they were. Replaced files are deleted only after the transaction commits.
    """
    processed = None
    if avatar is not None:
        # Before the transaction: decoding (and waiting for a free image slot) must not
        # hold the member's row lock or a database connection in a transaction.
        try:
            processed = process_upload(avatar)
        except ValidationError as error:
            raise ValidationError({"avatar": error.messages}) from error
    return _profile_store(
        member=member, display_name=display_name, bio=bio, neighbourhood=neighbourhood,
        languages=languages, processed=processed, remove_avatar=remove_avatar,
    )


@transaction.atomic
def _profile_store(
    *,
    member: Member,
    display_name: str,
    bio: str,
    neighbourhood: str,
    languages: str,
    processed: ProcessedImage | None,
    remove_avatar: bool,
) -> Member:
    locked = _lock(member)
    locked.display_name = " ".join(display_name.split())
    locked.bio = bio.strip()
    locked.neighbourhood = " ".join(neighbourhood.split())
    locked.languages = _clean_languages(languages)
    # Validate the text fields before any file reaches the storage.
    locked.full_clean(exclude=["password", "avatar", "avatar_thumbnail"])

    replacing = processed is not None or remove_avatar
    old_names = [f.name for f in (locked.avatar, locked.avatar_thumbnail) if f] if replacing else []
    new_names: list[str] = []
    storage = Member._meta.get_field("avatar").storage
    try:
        if replacing:
            locked.avatar = None
            locked.avatar_thumbnail = None
        if processed is not None:
            locked.avatar.save(processed.display.name, processed.display, save=False)
            new_names.append(locked.avatar.name)
            locked.avatar_thumbnail.save(
                processed.thumbnail.name, processed.thumbnail, save=False
            )
            new_names.append(locked.avatar_thumbnail.name)
        locked.save()
    except Exception:
        # The row is rolled back; do not leave orphan files behind it.
        for name in new_names:
            storage.delete(name)
        raise
    if old_names:
        transaction.on_commit(lambda: [storage.delete(name) for name in old_names])
    return locked


def _record_consent(member: Member, kind: str, granted: bool) -> ConsentRecord:
    return ConsentRecord.objects.create(member=member, kind=kind, granted=granted)


def _nearest_town_label(point: geo.Point) -> str:
    """The nearest town to the (already approximated) point, as 'Name (CC)', or ''."""
    town = geo.nearest_town(point, NEAREST_TOWN_MAX_KM)
    return town.label if town else ""


@transaction.atomic
def member_share_location(
    *, member: Member, lat: float | None = None, lng: float | None = None, town: str = ""
) -> Member:
    """Record consent and store the home location, from a town of the gazetteer
    (preferred when given) or from coordinates (the browser's geolocation).

    Guarantees: a consent record is written when consent was not already given; the
    exact point stays private and only its ~500 m approximation (and a town label) is
    ever shown; an unknown town or invalid coordinates raise ValidationError and
    change nothing.
    """
    town = (town or "").strip()
    if town:
        found = geo.find_town(town)
        if found is None:
            raise ValidationError(
                {"town": _("We do not know this town. Try a larger one nearby.")}
            )
        lat, lng, place_name = found.lat, found.lng, found.label
    else:
        if not geo.is_valid_coordinate(lat, lng):
            raise ValidationError(_("Choose a town or share your position."))
        place_name = ""
    approx = geo.approximate(lat, lng)
    if not place_name:
        place_name = _nearest_town_label(approx)

    locked = _lock(member)
    if not locked.location_consent:
        _record_consent(locked, ConsentRecord.Kind.LOCATION, True)
    locked.location_consent = True
    locked.home_lat, locked.home_lng = lat, lng
    locked.approx_lat, locked.approx_lng = approx.lat, approx.lng
    locked.home_place = place_name
    locked.save(update_fields=LOCATION_FIELDS)
    return locked


@transaction.atomic
def member_withdraw_location(*, member: Member) -> Member:
    """Withdraw consent: the stored location (exact and approximate) is erased at once,
    and the withdrawal is recorded with its time. Withdrawing twice records once."""
    locked = _lock(member)
    if locked.location_consent:
        _record_consent(locked, ConsentRecord.Kind.LOCATION, False)
    locked.location_consent = False
    locked.home_lat = locked.home_lng = locked.approx_lat = locked.approx_lng = None
    locked.home_place = ""
    locked.save(update_fields=LOCATION_FIELDS)
    return locked


@transaction.atomic
def member_set_consent(*, member: Member, kind: str, granted: bool) -> Member:
    """Give or withdraw one consent, with effect at once.

    Guarantees: a record with its time is written only when the consent changes;
    withdrawing the location erases it (member_withdraw_location); the email consent
    decides the optional emails (digests) from the next one on; the profile consent
    decides whether visitors who are not signed in see the profile. Giving the location
    needs a place, so it goes through member_share_location: here it raises
    ValidationError, as does an unknown kind."""
    if kind == ConsentRecord.Kind.LOCATION:
        if granted:
            raise ValidationError(_("Choose your town to share your location."))
        return member_withdraw_location(member=member)
    fields = {ConsentRecord.Kind.EMAIL: "email_consent",
              ConsentRecord.Kind.PUBLIC_PROFILE: "profile_public"}
    if kind not in fields:
        raise ValidationError(_("There is no such consent."))
    locked = _lock(member)
    if getattr(locked, fields[kind]) != granted:
        setattr(locked, fields[kind], granted)
        locked.save(update_fields=[fields[kind]])
        _record_consent(locked, kind, granted)
    return locked
