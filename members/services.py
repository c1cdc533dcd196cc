"""Every change to a member's profile, location and consents."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core import geo
from core.images import process_upload
from members.models import ConsentRecord, Member


def _lock(member: Member) -> Member:
    return Member.objects.select_for_update().get(pk=member.pk)


@transaction.atomic
def member_update_profile(
    *,
    member: Member,
    display_name: str,
    bio: str,
    neighbourhood: str,
    languages: str,
    avatar=None,
    remove_avatar: bool = False,
) -> Member:
    """Save the public profile. A new avatar is validated and re-encoded (no metadata
    survives); the previous files are removed after the transaction commits."""
    locked = _lock(member)
    locked.display_name = display_name.strip()
    locked.bio = bio.strip()
    locked.neighbourhood = neighbourhood.strip()
    locked.languages = ", ".join(
        part.strip() for part in languages.split(",") if part.strip()
    )
    old_files = []
    if avatar is not None or remove_avatar:
        old_files = [f for f in (locked.avatar, locked.avatar_thumbnail) if f]
        old_names = [f.name for f in old_files]
        locked.avatar = None
        locked.avatar_thumbnail = None
        if avatar is not None:
            processed = process_upload(avatar)
            locked.avatar.save(processed.display.name, processed.display, save=False)
            locked.avatar_thumbnail.save(
                processed.thumbnail.name, processed.thumbnail, save=False
            )
        storage = Member._meta.get_field("avatar").storage
        transaction.on_commit(lambda: [storage.delete(name) for name in old_names])
    locked.full_clean(exclude=["password", "avatar", "avatar_thumbnail"])
    locked.save()
    return locked


def _record_consent(member: Member, kind: str, granted: bool) -> None:
    ConsentRecord.objects.create(member=member, kind=kind, granted=granted)


@transaction.atomic
def member_share_location(
    *, member: Member, lat: float | None = None, lng: float | None = None, town: str = ""
) -> Member:
    """Record consent and store the home location, from coordinates (the browser's
    geolocation) or from a town of the gazetteer. Only the ~500 m approximation is
    ever shown. Raises ValidationError when neither gives a valid place."""
    place_name = ""
    if town:
        found = geo.find_town(town)
        if found is None:
            raise ValidationError({"town": _("We do not know this town. Try a larger one nearby.")})
        lat, lng, place_name = found.lat, found.lng, found.label
    if not geo.is_valid_coordinate(lat, lng):
        raise ValidationError(_("Choose a town or share your position."))
    locked = _lock(member)
    approx = geo.approximate(lat, lng)
    if not locked.location_consent:
        _record_consent(locked, ConsentRecord.Kind.LOCATION, True)
    locked.location_consent = True
    locked.home_lat, locked.home_lng = lat, lng
    locked.approx_lat, locked.approx_lng = approx.lat, approx.lng
    locked.home_place = place_name or locked.neighbourhood or _("Near me")
    locked.save(update_fields=[
        "location_consent", "home_lat", "home_lng", "approx_lat", "approx_lng", "home_place",
    ])
    return locked


@transaction.atomic
def member_withdraw_location(*, member: Member) -> Member:
    """Withdraw consent: the stored location is erased at once, and the withdrawal is
    recorded with its time."""
    locked = _lock(member)
    if locked.location_consent:
        _record_consent(locked, ConsentRecord.Kind.LOCATION, False)
    locked.location_consent = False
    locked.home_lat = locked.home_lng = locked.approx_lat = locked.approx_lng = None
    locked.home_place = ""
    locked.save(update_fields=[
        "location_consent", "home_lat", "home_lng", "approx_lat", "approx_lng", "home_place",
    ])
    return locked
