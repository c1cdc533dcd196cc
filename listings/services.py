"""Every change to a listing and its photos.

Services take keyword-only arguments, run in one transaction, and raise
ValidationError (with field names when a form can show them) or PermissionDenied;
on error nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from core import geo
from core.images import ProcessedImage, process_upload
from listings.models import TERMS_BY_KIND, Category, Kind, Listing, Photo, Status, Terms
from listings.signals import listing_activated
from members.models import Member
from members.standing import require_good_standing

# Fields a listing form may set; location and ownership go through the service.
EDITABLE_FIELDS = [
    "terms", "title", "description", "category", "condition", "price_cents", "deposit_cents",
    "hours_minutes", "origin_name", "destination_name", "departs_at", "seats", "luggage_ok",
    "pets_ok", "smoking_ok", "service_place", "duration_minutes", "loan_buffer_days",
]

# Bounds that keep typing mistakes out: 100,000 € for any amount, 100 hours for any time.
MAX_AMOUNT_CENTS = 10_000_000
MAX_MINUTES = 100 * 60
# Days an owner may keep free after each loan (the database refuses more, too).
MAX_LOAN_BUFFER_DAYS = 30


@dataclass
class ListingData:
    """What a member fills in; the service decides what it means for each kind."""

    terms: str
    title: str
    description: str
    category: Category
    condition: str = ""
    price_cents: int = 0
    deposit_cents: int = 0
    hours_minutes: int | None = None
    place: geo.Point | None = None
    place_name: str = ""
    origin_name: str = ""
    origin: geo.Point | None = None
    destination_name: str = ""
    destination: geo.Point | None = None
    departs_at: datetime | None = None
    seats: int | None = None
    luggage_ok: bool = False
    pets_ok: bool = False
    smoking_ok: bool = False
    service_place: str = ""
    duration_minutes: int | None = None
    loan_buffer_days: int = 0


def _validate(kind: str, data: ListingData, *, is_new: bool) -> None:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if kind not in Kind.values:
        raise ValidationError(_("Unknown kind of listing."))
    if data.terms not in TERMS_BY_KIND[kind]:
        add("terms", _("These terms are not available for this kind of listing."))
    if data.price_cents < 0:
        add("price_cents", _("Prices cannot be negative."))
    if data.deposit_cents < 0:
        add("deposit_cents", _("Prices cannot be negative."))
    for name in ("price_cents", "deposit_cents"):
        if getattr(data, name) > MAX_AMOUNT_CENTS:
            add(name, _("That is more than %(max)s €.") % {"max": number_format(MAX_AMOUNT_CENTS // 100, force_grouping=True)})
    for name in ("hours_minutes", "duration_minutes"):
        minutes = getattr(data, name)
        if minutes is not None and not 0 < minutes <= MAX_MINUTES:
            add(name, _("Give a time between 1 minute and %(max)s hours.")
                % {"max": MAX_MINUTES // 60})
    if data.terms == Terms.SELL and kind != Kind.WANTED and data.price_cents <= 0:
        add("price_cents", _("Set a price to sell."))
    if data.terms == Terms.GIVE and data.price_cents:
        add("price_cents", _("A gift has no price."))
    if data.deposit_cents and data.terms != Terms.LEND:
        add("deposit_cents", _("Only a loan can ask for a deposit."))
    if not 0 <= data.loan_buffer_days <= MAX_LOAN_BUFFER_DAYS:
        add("loan_buffer_days", _("Keep between 0 and %(max)s days free between loans.")
            % {"max": MAX_LOAN_BUFFER_DAYS})
    if data.terms == Terms.BARTER and kind != Kind.WANTED and not data.hours_minutes:
        add("hours_minutes", _("Say how many hours you ask."))
    if kind == Kind.RIDE:
        if not data.origin_name:
            add("origin_name", _("Where does the ride start?"))
        if not data.destination_name:
            add("destination_name", _("Where does the ride go?"))
        if data.departs_at is None:
            add("departs_at", _("When do you leave?"))
        elif is_new and data.departs_at <= timezone.now():
            add("departs_at", _("The departure must be in the future."))
        if not data.seats or not 1 <= data.seats <= 8:
            add("seats", _("Offer between 1 and 8 seats."))
    if kind == Kind.SERVICE and not data.service_place:
        add("service_place", _("Say where the service takes place."))
    if errors:
        raise ValidationError(errors)


def _apply(listing: Listing, kind: str, data: ListingData) -> None:
    for name in EDITABLE_FIELDS:
        setattr(listing, name, getattr(data, name))
    # Clear what does not belong to this kind, so stale values never show up.
    if kind != Kind.ITEM:
        listing.condition = ""
    if kind != Kind.RIDE:
        listing.origin_name = listing.destination_name = ""
        listing.departs_at = listing.seats = None
        listing.luggage_ok = listing.pets_ok = listing.smoking_ok = False
    if kind != Kind.SERVICE:
        listing.service_place = ""
        listing.duration_minutes = None
    if listing.terms != Terms.BARTER:
        listing.hours_minutes = None
    if listing.terms != Terms.LEND:
        listing.deposit_cents = 0
    if listing.terms != Terms.LEND or kind != Kind.ITEM:
        # Buffer days only mean something for a thing that is lent.
        listing.loan_buffer_days = 0
    if listing.terms == Terms.GIVE:
        listing.price_cents = 0
    if kind == Kind.RIDE:
        origin = data.origin and geo.approximate(data.origin.lat, data.origin.lng)
        destination = data.destination and geo.approximate(
            data.destination.lat, data.destination.lng
        )
        listing.origin_lat, listing.origin_lng = (origin.lat, origin.lng) if origin else (None, None)
        listing.destination_lat, listing.destination_lng = (
            (destination.lat, destination.lng) if destination else (None, None)
        )
        # A ride is found from where it leaves, never from its driver's home.
        if data.origin is not None:
            data.place, data.place_name = data.origin, data.origin_name
    else:
        listing.origin_lat = listing.origin_lng = None
        listing.destination_lat = listing.destination_lng = None
    if data.place is not None and geo.is_valid_coordinate(data.place.lat, data.place.lng):
        approx = geo.approximate(data.place.lat, data.place.lng)
        listing.lat, listing.lng = data.place.lat, data.place.lng
        listing.approx_lat, listing.approx_lng = approx.lat, approx.lng
        listing.place_name = data.place_name
    elif data.place_name == "" and data.place is None:
        pass  # keep the previous location on edit when none was given


def default_place_for(member: Member) -> tuple[geo.Point | None, str]:
    """A new listing sits at the member's home when they shared it (consent given)."""
    if member.location_consent and member.home_lat is not None:
        return geo.Point(member.home_lat, member.home_lng), member.home_place
    return None, ""


@transaction.atomic
def listing_create(*, owner: Member, kind: str, data: ListingData) -> Listing:
    """Create an active listing of this kind for the owner. Guarantees the terms fit the
    kind, prices are non-negative integers, a ride departs in the future with 1–8 seats,
    and only the ~500 m approximation of the place is public."""
    require_good_standing(owner)
    _validate(kind, data, is_new=True)
    if data.place is None and kind != Kind.RIDE:
        data.place, data.place_name = default_place_for(owner)
    listing = Listing(owner=owner, kind=kind, status=Status.ACTIVE)
    _apply(listing, kind, data)
    listing.full_clean()
    listing.save()
    _announce_activated(listing)
    return listing


def _announce_activated(listing: Listing) -> None:
    # Saved searches are matched after commit: the listing is public by then, and a
    # rolled-back creation announces nothing.
    transaction.on_commit(lambda: listing_activated.send(sender=Listing, listing=listing))


def _lock_owned(listing: Listing, by: Member) -> Listing:
    locked = Listing.objects.select_for_update().get(pk=listing.pk)
    if locked.owner_id != by.pk:
        raise PermissionDenied(_("Only the owner can change this listing."))
    if locked.status == Status.REMOVED:
        raise ValidationError(_("A moderator removed this listing; it cannot be changed."))
    return locked


@transaction.atomic
def listing_update(*, listing: Listing, by: Member, data: ListingData) -> Listing:
    """Save the owner's edits. The kind never changes; the same rules as creation hold,
    except that an existing ride may keep its (now past) departure."""
    locked = _lock_owned(listing, by)
    _validate(locked.kind, data, is_new=False)
    if data.departs_at and locked.departs_at != data.departs_at and data.departs_at <= timezone.now():
        raise ValidationError({"departs_at": [_("The departure must be in the future.")]})
    _apply(locked, locked.kind, data)
    locked.full_clean()
    locked.save()
    return locked


ALLOWED_STATUS_CHANGES = {
    Status.ACTIVE: {Status.PAUSED, Status.CLOSED},
    Status.PAUSED: {Status.ACTIVE, Status.CLOSED},
    Status.CLOSED: {Status.ACTIVE},
}


def listing_next_statuses(listing: Listing) -> list[str]:
    """The statuses the owner may move this listing to now (what listing_set_status
    accepts), in a stable order for buttons."""
    allowed = ALLOWED_STATUS_CHANGES.get(listing.status, set())
    statuses = [s for s in (Status.ACTIVE, Status.PAUSED, Status.CLOSED) if s in allowed]
    if _ride_has_left(listing):
        statuses = [s for s in statuses if s != Status.ACTIVE]
    return statuses


def _ride_has_left(listing: Listing) -> bool:
    return bool(
        listing.kind == Kind.RIDE and listing.departs_at and listing.departs_at <= timezone.now()
    )


@transaction.atomic
def listing_set_status(*, listing: Listing, by: Member, status: str) -> Listing:
    """Pause, reactivate or close one's own listing. Removal is for moderators only."""
    locked = _lock_owned(listing, by)
    if status not in ALLOWED_STATUS_CHANGES.get(locked.status, set()):
        raise ValidationError(
            _("A listing that is %(current)s cannot become %(new)s.")
            % {"current": locked.get_status_display().lower(),
               "new": Status(status).label.lower() if status in Status.values else status}
        )
    if status == Status.ACTIVE and _ride_has_left(locked):
        raise ValidationError(_("This ride has already left; post a new one instead."))
    locked.status = status
    locked.save(update_fields=["status", "updated_at"])
    if status == Status.ACTIVE:
        _announce_activated(locked)
    return locked


@transaction.atomic
def listing_delete(*, listing: Listing, by: Member) -> None:
    """Delete one's own listing with its photos; the files go once the delete commits."""
    locked = _lock_owned(listing, by)
    names = [name for photo in locked.photos.all() for name in (photo.image.name, photo.thumbnail.name)]
    storage = Photo._meta.get_field("image").storage
    locked.delete()
    transaction.on_commit(lambda: [storage.delete(name) for name in names])


def photo_add(*, listing: Listing, by: Member, upload, alt_text: str = "") -> Photo:
    """Add a photo: fully decoded, at most IMAGE_MAX_BYTES and IMAGE_MAX_PIXELS (refused
    from its header, core/images.py), re-encoded without metadata, orientation applied. A listing never holds more than LISTING_MAX_PHOTOS
    (checked on the locked listing, so two uploads at once cannot pass the cap)."""
    if listing.owner_id != by.pk:
        raise PermissionDenied(_("Only the owner can change this listing."))
    # Cheap early answer before decoding anything; the locked count below is the guarantee.
    if listing.photos.count() >= settings.LISTING_MAX_PHOTOS:
        raise _too_many_photos()
    # Decoding and re-encoding take a while: do it before the transaction, so the row
    # lock (and, on SQLite, the database write lock) is held only for the quick writes.
    try:
        processed = process_upload(upload)
    except ValidationError as error:
        raise ValidationError({"image": error.messages}) from error
    return _photo_store(listing=listing, by=by, processed=processed, alt_text=alt_text)


def photos_add(*, listing: Listing, by: Member, uploads, alt_text: str = "") -> list[Photo]:
    """Add several photos in the order given, each as photo_add does (decoded one after
    the other, each checked against the cap and the quota as it is stored). Guarantees:
    each photo is stored whole or not at all; when some are refused the others are
    kept and the refusals come back as `refused` on the list; when every one is refused,
    ValidationError on "image" names each file and why, and nothing is stored."""
    added: list[Photo] = []
    refused: list[str] = []
    uploads = list(uploads)
    for upload in uploads:
        try:
            added.append(photo_add(listing=listing, by=by, upload=upload, alt_text=alt_text))
        except ValidationError as error:
            reasons = " ".join(error.message_dict.get("image", error.messages)
                               if hasattr(error, "error_dict") else error.messages)
            # With several files, each refusal says which one it is about.
            refused.append(_("%(file)s: %(reason)s") % {"file": upload.name, "reason": reasons}
                           if len(uploads) > 1 else reasons)
    if not added:
        raise ValidationError({"image": refused})
    return _AddedPhotos(added, refused)


class _AddedPhotos(list):
    """The photos stored, in order; `refused` says which files were not, and why."""

    def __init__(self, added: list[Photo], refused: list[str]) -> None:
        super().__init__(added)
        self.refused = refused


def _too_many_photos() -> ValidationError:
    return ValidationError(
        {"image": [_("A listing has at most %(max)s photos.") % {"max": settings.LISTING_MAX_PHOTOS}]}
    )


def storage_used(member: Member) -> int:
    """Bytes the member's listing photos take in storage."""
    return Photo.objects.filter(listing__owner=member).aggregate(
        total=Sum("stored_bytes"))["total"] or 0


def _check_storage_quota(member: Member, adding: int) -> None:
    # The member row is locked so that uploads to two listings at once cannot both fit
    # in the last free space.
    Member.objects.select_for_update().filter(pk=member.pk).first()
    if storage_used(member) + adding > settings.MEMBER_STORAGE_QUOTA_BYTES:
        quota_mb = settings.MEMBER_STORAGE_QUOTA_BYTES // (1024 * 1024)
        raise ValidationError({"image": [_(
            "Your photos already fill the %(quota)s MB Partage keeps for each member. "
            "Delete photos of old listings to make room."
        ) % {"quota": quota_mb}]})


@transaction.atomic
def _photo_store(*, listing: Listing, by: Member, processed: ProcessedImage, alt_text: str) -> Photo:
    locked = _lock_owned(listing, by)
    if locked.photos.count() >= settings.LISTING_MAX_PHOTOS:
        raise _too_many_photos()
    size = processed.display.size + processed.thumbnail.size
    _check_storage_quota(by, size)
    position = (locked.photos.aggregate(top=Max("position"))["top"] or 0) + 1
    photo = Photo(listing=locked, position=position, alt_text=alt_text.strip()[:200],
                  stored_bytes=size)
    storage = Photo._meta.get_field("image").storage
    try:
        photo.image.save(processed.display.name, processed.display, save=False)
        photo.thumbnail.save(processed.thumbnail.name, processed.thumbnail, save=False)
        photo.save()
    except Exception:
        # Files are not transactional: remove what was written before failing.
        for stored in (photo.image, photo.thumbnail):
            if stored.name:
                storage.delete(stored.name)
        raise
    return photo


PHOTO_MOVES = ("first", "earlier", "later")


@transaction.atomic
def photo_move(*, photo: Photo, by: Member, move: str) -> None:
    """Reorder one's own listing's photos: "first" makes it the cover (the photo cards
    and the page show first), "earlier"/"later" swap it with its neighbour. Positions
    are renumbered 1..n under the listing's lock, so two moves at once cannot leave two
    photos in one place; moving the first earlier or the last later changes nothing."""
    if move not in PHOTO_MOVES:
        raise ValidationError(_("That is not a way to move a photo."))
    locked = _lock_owned(photo.listing, by)
    photos = list(locked.photos.order_by("position", "id"))
    index = next((i for i, p in enumerate(photos) if p.pk == photo.pk), None)
    if index is None:
        raise Photo.DoesNotExist
    moving = photos.pop(index)
    target = {"first": 0, "earlier": max(index - 1, 0),
              "later": min(index + 1, len(photos))}[move]
    photos.insert(target, moving)
    for position, item in enumerate(photos, start=1):
        if item.position != position:
            Photo.objects.filter(pk=item.pk).update(position=position)


@transaction.atomic
def photo_delete(*, photo: Photo, by: Member) -> None:
    """Delete one photo of one's own listing; its files go once the delete commits."""
    locked = _lock_owned(photo.listing, by)
    target = locked.photos.get(pk=photo.pk)
    names = [target.image.name, target.thumbnail.name]
    storage = Photo._meta.get_field("image").storage
    target.delete()
    transaction.on_commit(lambda: [storage.delete(name) for name in names])
