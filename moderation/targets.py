"""What members may report and moderators may hide: one entry per kind of target.

Each kind names its model, whose content it is, and how it is hidden and restored
(through its own app's service when there is one). A kind whose app is not installed
is simply not offered. Adding a kind is adding one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import Member


@dataclass(frozen=True)
class TargetKind:
    key: str
    model_label: str
    label: Any
    # The member whose content it is (for a member: themselves).
    owner_of: Callable[[Any], Member | None]
    # Hide / restore with the app's own service; None for kinds that cannot be hidden
    # (members are suspended or banned instead).
    hide: Callable[..., Any] | None = None
    restore: Callable[..., Any] | None = None
    is_hidden: Callable[[Any], bool] | None = None
    # Whether a member may see it (and so report it); others get a 404.
    visible_to: Callable[[Any, Member], bool] = lambda obj, member: True

    @property
    def model(self) -> type[models.Model] | None:
        try:
            return apps.get_model(self.model_label)
        except LookupError:
            return None


# --- Listings: a moderator's removal is the listing status REMOVED -----------------------


def _listing_hide(obj, *, by: Member, reason: str) -> dict:
    from listings.models import Listing, Status

    locked = Listing.objects.select_for_update().get(pk=obj.pk)
    previous = locked.status
    if previous != Status.REMOVED:
        locked.status = Status.REMOVED
        locked.save(update_fields=["status", "updated_at"])
    return {"previous_status": previous}


def _listing_restore(obj, *, by: Member, reason: str, previous: dict | None = None) -> dict:
    from listings.models import Listing, Status

    locked = Listing.objects.select_for_update().get(pk=obj.pk)
    # Back to what it was before removal, except that it comes back paused rather than
    # active when that is unknown: the owner decides when to show it again.
    status = (previous or {}).get("previous_status", Status.PAUSED)
    if status not in (Status.ACTIVE, Status.PAUSED, Status.CLOSED):
        status = Status.PAUSED
    if locked.status == Status.REMOVED:
        locked.status = status
        locked.save(update_fields=["status", "updated_at"])
    return {"status": status}


def _listing_is_hidden(obj) -> bool:
    return obj.status == "removed"


# --- Reviews: reviews.services owns hiding (reputation figures are recomputed) -----------


def _review_hide(obj, *, by: Member, reason: str) -> dict:
    from reviews import services

    services.review_remove(review=obj, by=by, reason=reason)
    return {}


def _review_restore(obj, *, by: Member, reason: str, previous: dict | None = None) -> dict:
    from reviews import services

    services.review_restore(review=obj, by=by)
    return {}


# --- Messages: hidden_at, shown to nobody --------------------------------------------------


def _message_hide(obj, *, by: Member, reason: str) -> dict:
    model = type(obj)
    model.objects.filter(pk=obj.pk, hidden_at__isnull=True).update(hidden_at=timezone.now())
    return {}


def _message_restore(obj, *, by: Member, reason: str, previous: dict | None = None) -> dict:
    type(obj).objects.filter(pk=obj.pk).update(hidden_at=None)
    return {}


def _hidden_at_set(obj) -> bool:
    return getattr(obj, "hidden_at", None) is not None


def _listing_visible(obj, member: Member) -> bool:
    return obj.status == "active" or (obj.status != "removed" and obj.owner_id == member.pk)


def _review_visible(obj, member: Member) -> bool:
    return obj.hidden_at is None and (obj.published_at is not None or obj.author_id == member.pk)


def _message_visible(obj, member: Member) -> bool:
    # Only the people in the conversation read its messages.
    return obj.hidden_at is None and obj.conversation.participants.filter(member=member).exists()


KINDS: dict[str, TargetKind] = {kind.key: kind for kind in [
    TargetKind("listing", "listings.Listing", _("listing"), lambda o: o.owner,
               _listing_hide, _listing_restore, _listing_is_hidden, _listing_visible),
    TargetKind("member", "members.Member", _("member"), lambda o: o,
               visible_to=lambda o, member: o.is_active),
    TargetKind("review", "reviews.Review", _("review"), lambda o: o.author,
               _review_hide, _review_restore, _hidden_at_set, _review_visible),
    TargetKind("message", "messaging.Message", _("message"), lambda o: o.sender,
               _message_hide, _message_restore, _hidden_at_set, _message_visible),
]}


# Besides the reportable kinds, the moderation page opens disputed exchanges (settling
# them is a moderator's job) and nothing else: sessions, email addresses or
# authenticators are none of a moderator's business.
MODERATED_WITHOUT_REPORTS = frozenset({"exchanges.Exchange"})


def moderation_page_allows(model: type[models.Model] | None) -> bool:
    """Whether the admin's moderation page may open objects of this model."""
    if model is None:
        return False
    label = model._meta.label
    return label in MODERATED_WITHOUT_REPORTS or any(
        kind.model_label == label for kind in KINDS.values()
    )


def kind_of(obj: models.Model) -> TargetKind | None:
    for kind in KINDS.values():
        model = kind.model
        if model is not None and isinstance(obj, model):
            return kind
    return None


def target_label(obj: models.Model) -> str:
    kind = kind_of(obj)
    prefix = str(kind.label).capitalize() if kind else obj._meta.verbose_name
    if kind is not None and kind.key == "member":
        text = f"{obj.public_name} <{obj.email}>"
    elif kind is not None and kind.key == "message":
        text = f"#{obj.pk} {obj.body[:80]}"
    elif kind is not None and kind.key == "review":
        text = f"#{obj.pk} {obj.text[:80]}" if getattr(obj, "text", "") else f"#{obj.pk}"
    else:
        text = str(obj)
    return f"{prefix}: {text}"[:200]
