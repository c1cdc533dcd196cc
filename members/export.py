"""Download my data: everything Partage holds about a member, as one ZIP.

The archive has one JSON file per kind of data, the listing photos as stored, and a
README explaining the files. It is built while it is sent: JSON files are small, and
photos are copied from storage in chunks, so memory stays flat however many photos a
member has. What belongs to other members is left out or reduced to what the member
already saw (the other party's public name, their messages in shared conversations);
reviews of the member that are still sealed by the double-blind rule are left out too.

Links to the archive are signed and expire (EXPORT_LINK_MAX_AGE): a link copied out of
the browser history is useless later, and only the member it was made for can use it.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any

from django.core import signing
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.utils import timezone

from members.models import ConsentRecord, Member

EXPORT_LINK_MAX_AGE = timedelta(hours=1)
_SALT = "members.export"
_CHUNK = 64 * 1024

README = """\
Your data from Partage
======================

Made on {made_at} for {name} ({email}).

Every file is JSON (UTF-8). Times are ISO 8601 in UTC. Money is in cents (1234 = 12.34 €),
time-bank amounts in minutes (90 = 1 h 30).

profile.json          your profile: name, email, about you, languages, town, location if
                      you shared it, account dates and standing
photo.webp            your profile photo, if you added one
consents.json         every consent you gave or withdrew, with its time
listings.json         your listings, with their photos (in photos/<listing id>/)
exchanges.json        your exchanges (loans, swaps, sales, rides, services) with every event
messages.json         your conversations and the messages in them
reviews.json          reviews you wrote, and published reviews about you
ledger.json           your time-bank account: limits, balance and statement
saved_searches.json   the searches you asked to be told about
notifications.json    the notifications Partage sent you
devices.json          the browsers you are signed in on

Other members appear by their public name only. Reviews about you that are not
published yet (both parties have not written theirs and the window is still open) are
not included: they stay sealed for everyone.
"""


# --- links ------------------------------------------------------------------------------


def export_token(member: Member) -> str:
    """A signed token naming the member, valid for EXPORT_LINK_MAX_AGE."""
    return signing.dumps({"member": member.pk}, salt=_SALT)


def export_token_valid_for(token: str, member: Member) -> bool:
    """True when the token was made for this member and has not expired."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=EXPORT_LINK_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return False
    return data.get("member") == member.pk


# --- what goes in -----------------------------------------------------------------------


def _name(member: Member | None) -> str | None:
    return member.public_name if member is not None else None


def _profile(member: Member) -> dict[str, Any]:
    return {
        "id": member.pk,
        "email": member.email,
        "display_name": member.display_name,
        "bio": member.bio,
        "neighbourhood": member.neighbourhood,
        "languages": member.languages,
        "town": member.home_place,
        "location_consent": member.location_consent,
        "email_consent": member.email_consent,
        "profile_shown_to_everyone": member.profile_public,
        "home_location": (
            {"lat": member.home_lat, "lng": member.home_lng} if member.home_lat is not None else None
        ),
        "public_location_approx": (
            {"lat": member.approx_lat, "lng": member.approx_lng}
            if member.approx_lat is not None else None
        ),
        "has_photo": bool(member.avatar),
        "photo_file": _avatar_name(member),
        "joined_at": member.date_joined,
        "terms_accepted_at": member.terms_accepted_at,
        "last_login": member.last_login,
        "suspended_until": getattr(member, "suspended_until", None),
        "banned_at": getattr(member, "banned_at", None),
    }


def _avatar_name(member: Member) -> str | None:
    if not member.avatar:
        return None
    extension = PurePosixPath(member.avatar.name).suffix.lower() or ".webp"
    return f"photo{extension}"


def _consents(member: Member) -> list[dict]:
    return [
        {"kind": r.kind, "granted": r.granted, "at": r.at}
        for r in ConsentRecord.objects.filter(member=member).order_by("at", "pk")
    ]


def _listings(member: Member) -> tuple[list[dict], list[tuple[str, Any]]]:
    from listings.models import Listing

    rows, photos = [], []
    listings = (Listing.objects.filter(owner=member).select_related("category")
                .prefetch_related("photos").order_by("pk"))
    for listing in listings:
        photo_rows = []
        for number, photo in enumerate(listing.photos.all(), start=1):
            name = f"photos/{listing.pk}/{number}.webp"
            photos.append((name, photo.image))
            photo_rows.append({"file": name, "alt_text": photo.alt_text, "added_at": photo.created_at})
        rows.append({
            "id": listing.pk, "kind": listing.kind, "terms": listing.terms, "title": listing.title,
            "description": listing.description,
            "category": listing.category.name if listing.category_id else None,
            "condition": listing.condition, "status": listing.status,
            "price_cents": listing.price_cents, "deposit_cents": listing.deposit_cents,
            "hours_minutes": listing.hours_minutes, "place": listing.place_name,
            "ride": {
                "origin": listing.origin_name, "destination": listing.destination_name,
                "departs_at": listing.departs_at, "seats": listing.seats,
            } if listing.kind == "ride" else None,
            "created_at": listing.created_at, "updated_at": listing.updated_at,
            "photos": photo_rows,
        })
    return rows, photos


def _exchanges(member: Member) -> list[dict]:
    from exchanges.models import Exchange

    exchanges = (Exchange.objects.filter(Q(asker=member) | Q(owner=member))
                 .select_related("listing", "asker", "owner").prefetch_related("events__actor")
                 .order_by("pk"))
    return [
        {
            "id": e.pk, "kind": e.kind, "state": e.state, "listing": e.listing.title,
            "my_role": "owner" if e.owner_id == member.pk else "asker",
            "other_party": _name(e.asker if e.owner_id == member.pk else e.owner),
            "message": e.message, "start_date": e.start_date, "end_date": e.end_date,
            "seats": e.seats, "proposed_minutes": e.proposed_minutes,
            "actual_minutes": e.actual_minutes, "amount_cents": e.amount_cents,
            "deposit_cents": e.deposit_cents, "requested_at": e.requested_at,
            "events": [
                {"action": ev.action, "from": ev.from_state, "to": ev.to_state,
                 "by": _name(ev.actor), "note": ev.note, "at": ev.at}
                for ev in e.events.all()
            ],
        }
        for e in exchanges
    ]


def _messages(member: Member) -> list[dict]:
    from messaging.models import Conversation, Message

    conversations = (Conversation.objects.filter(participants__member=member)
                     .select_related("listing").order_by("pk").distinct())
    rows = []
    for conversation in conversations:
        messages = (Message.objects.filter(conversation=conversation)
                    .filter(Q(sender=member) | Q(hidden_at__isnull=True))
                    .select_related("sender").order_by("pk"))
        rows.append({
            "id": conversation.pk, "kind": conversation.kind,
            "about": conversation.listing.title if conversation.listing_id else None,
            "messages": [
                {"from": "me" if m.sender_id == member.pk else _name(m.sender),
                 "body": m.body, "at": m.created_at}
                for m in messages.iterator()
            ],
        })
    return rows


def _reviews(member: Member) -> dict[str, list[dict]]:
    from reviews.models import Review

    def row(review, other) -> dict:
        return {"exchange": review.exchange_id, "role": review.role, "rating": review.rating,
                "text": review.text, "written_at": review.created_at,
                "published_at": review.published_at, "reply": review.reply,
                "replied_at": review.replied_at, "other_member": _name(other)}

    given = Review.objects.filter(author=member).select_related("subject").order_by("pk")
    received = (Review.objects.filter(subject=member, published_at__isnull=False,
                                      hidden_at__isnull=True)
                .select_related("author").order_by("pk"))
    return {"given": [row(r, r.subject) for r in given],
            "received": [row(r, r.author) for r in received]}


def _ledger(member: Member) -> dict:
    from ledger.models import Account, Entry

    account = Account.objects.filter(member=member).first()
    if account is None:
        return {"account": None, "statement": []}
    entries = (Entry.objects.filter(account=account)
               .select_related("transfer__from_account__member", "transfer__to_account__member")
               .order_by("pk"))
    statement = []
    for entry in entries.iterator():
        transfer = entry.transfer
        other = transfer.to_account if entry.minutes < 0 else transfer.from_account
        statement.append({
            "at": entry.created_at, "minutes": entry.minutes, "balance_after": entry.balance_after,
            "other_member": _name(other.member) if other and other.member_id else None,
            "note": transfer.note, "reverses": transfer.reverses_id,
        })
    return {
        "account": {"balance_minutes": account.balance_minutes,
                    "credit_limit_minutes": account.credit_limit_minutes,
                    "max_balance_minutes": account.max_balance_minutes,
                    "opened_at": account.created_at},
        "statement": statement,
    }


def _saved_searches(member: Member) -> list[dict]:
    from listings.models import SavedSearch

    return [
        {"name": s.name, "query": s.querystring, "email": s.notify_email, "saved_at": s.created_at}
        for s in SavedSearch.objects.filter(owner=member).order_by("pk")
    ]


def _notifications(member: Member) -> list[dict]:
    from messaging.models import Notification

    return [
        {"text": n.text, "link": n.url, "at": n.created_at, "read_at": n.read_at}
        for n in Notification.objects.filter(member=member).order_by("pk").iterator()
    ]


def _devices(member: Member) -> list[dict]:
    from members.devices import devices_of

    return [
        {"device": d.description, "ip": d.ip, "signed_in_at": d.signed_in_at,
         "last_seen_at": d.last_seen_at}
        for d in devices_of(member, None)
    ]


# --- the archive ------------------------------------------------------------------------


class _Pipe:
    """A write-only file for zipfile whose bytes are handed on as they come."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.position = 0

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def _json(data: Any) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


def export_files(member: Member, listings: list[dict]) -> Iterable[tuple[str, bytes]]:
    """The JSON files of the archive, as (name, content); `listings` from _listings()."""
    yield "profile.json", _json(_profile(member))
    yield "consents.json", _json(_consents(member))
    yield "listings.json", _json(listings)
    yield "exchanges.json", _json(_exchanges(member))
    yield "messages.json", _json(_messages(member))
    yield "reviews.json", _json(_reviews(member))
    yield "ledger.json", _json(_ledger(member))
    yield "saved_searches.json", _json(_saved_searches(member))
    yield "notifications.json", _json(_notifications(member))
    yield "devices.json", _json(_devices(member))


def export_stream(member: Member) -> Iterator[bytes]:
    """The ZIP archive of the member's data, produced chunk by chunk."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        made_at = timezone.now().replace(microsecond=0).isoformat()
        archive.writestr("README.txt", README.format(
            made_at=made_at, name=member.public_name, email=member.email))
        yield pipe.take()
        listings, photos = _listings(member)
        if member.avatar:
            photos.insert(0, (_avatar_name(member), member.avatar))
        for name, content in export_files(member, listings):
            archive.writestr(name, content)
            yield pipe.take()
        for name, field in photos:
            try:
                source = field.storage.open(field.name, "rb")
            except FileNotFoundError:
                continue
            # Photos are WebP already: storing them uncompressed saves CPU for nothing lost.
            with source, archive.open(
                zipfile.ZipInfo(name, date_time=timezone.now().timetuple()[:6]), "w"
            ) as target:
                while chunk := source.read(_CHUNK):
                    target.write(chunk)
                    if len(pipe.chunks) > 4:
                        yield pipe.take()
            yield pipe.take()
    yield pipe.take()
