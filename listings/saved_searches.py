"""Saved searches: keep a member's search, and find which saved searches a listing that
has just become active matches.

A saved search is replayed through the browse page's own ListingFilter (the saver as
the visitor, so "near me" means the saver's shared area), never through a second
implementation of the same rules: what matches is exactly what the member would see.

Cost of matching one new listing, whatever the number of saved searches: one query for
the candidate searches (narrowed in SQL on kind, terms, category and price), one for the
category tree, one per MATCH_CHUNK candidates (each search's filter becomes an EXISTS on
the one listing) and one insert for the matches. The notifications that follow cost a
few queries per actual match only.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Q
from django.http import QueryDict
from django.utils.formats import number_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from core.dates import day
from listings.filters import DEFAULT_RADIUS_KM, USER_FILTERS, ListingFilter
from listings.models import Category, Kind, Listing, SavedSearch, SavedSearchMatch, Terms
from members.models import Member

# What a saved search keeps from the querystring: the filters, and the radius when a
# place is searched around. Page and sort say nothing about what is wanted.
PLACE_FILTERS = ("near", "origin_near", "destination_near")
MAX_SAVED_SEARCHES = 20
MATCH_CHUNK = 50


# ---------------------------------------------------------------------------------------
# Replaying a search
# ---------------------------------------------------------------------------------------


class _PreloadedCategoryField(forms.Field):
    """Cleans a category slug from a dict loaded once, instead of one query per
    search as the browse form's ModelChoiceField does."""

    def __init__(self, categories: dict[str, Category], **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.categories = categories

    def to_python(self, value: Any) -> Category | None:
        if value in self.empty_values:
            return None
        try:
            return self.categories[str(value)]
        except KeyError:
            raise ValidationError(_("Unknown category."), code="invalid_choice") from None


def _replay_filter(querystring: str, queryset, member: Member,
                   categories: dict[str, Category] | None = None) -> ListingFilter:
    data = QueryDict(querystring)
    listing_filter = ListingFilter(data, queryset=queryset,
                                   request=SimpleNamespace(user=member))
    if categories is not None:
        listing_filter.form.fields["category"] = _PreloadedCategoryField(categories)
    return listing_filter


def _all_categories() -> dict[str, Category]:
    return {category.slug: category for category in Category.objects.select_related("parent")}


# ---------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NormalisedSearch:
    querystring: str
    name: str
    cleaned: dict[str, Any]


def _money(cents: int) -> str:
    euros = cents / 100
    return number_format(euros, decimal_pos=0 if cents % 100 == 0 else 2) + " €"


def _describe(listing_filter: ListingFilter, cleaned: dict[str, Any]) -> str:
    parts: list[str] = []
    if cleaned.get("q"):
        parts.append(cleaned["q"])
    if cleaned.get("kind"):
        parts.append(str(Kind(cleaned["kind"]).label))
    if cleaned.get("terms"):
        parts.append(str(Terms(cleaned["terms"]).label))
    if cleaned.get("category"):
        parts.append(cleaned["category"].label)
    low, high = cleaned.get("price_min"), cleaned.get("price_max")
    if low is not None and high is not None:
        parts.append(_("%(low)s to %(high)s") % {"low": _money(low), "high": _money(high)})
    elif low is not None:
        parts.append(_("from %(amount)s") % {"amount": _money(low)})
    elif high is not None:
        parts.append(_("up to %(amount)s") % {"amount": _money(high)})
    # The filter describes the places it searched around (once its queryset is built).
    listing_filter.qs  # noqa: B018 - builds `summary` without running a query
    parts.extend(listing_filter.summary)
    if cleaned.get("date"):
        parts.append(_("leaving on %(date)s") % {"date": day(cleaned["date"])})
    return " · ".join(parts)[:200]


def saved_search_normalise(*, data: QueryDict, member: Member) -> NormalisedSearch:
    """The search as it would be replayed: only the filters the browse page applied
    (a value that did not validate is ignored there, so it is dropped here), in a stable
    order, without page or sort; and a name describing it in the member's words.
    Raises ValidationError when no filter is left (that search would match everything)."""
    listing_filter = _replay_filter(data.urlencode(), Listing.objects.none(), member)
    form = listing_filter.form
    form.is_valid()
    cleaned = form.cleaned_data
    kept = QueryDict(mutable=True)
    for name in USER_FILTERS:
        raw = (data.get(name) or "").strip()
        if raw and cleaned.get(name) not in (None, ""):
            kept[name] = raw
    if not kept:
        raise ValidationError(
            _("Choose at least one filter or search words before saving a search."),
            code="empty",
        )
    if any(name in kept for name in PLACE_FILTERS):
        kept["radius"] = str(cleaned.get("radius") or DEFAULT_RADIUS_KM)
    querystring = urlencode(sorted((name, kept[name]) for name in kept))
    return NormalisedSearch(querystring=querystring, name=_describe(listing_filter, cleaned),
                            cleaned=cleaned)


@transaction.atomic
def saved_search_create(*, member: Member, data: QueryDict,
                        notify_email: bool = False) -> tuple[SavedSearch, bool]:
    """Save the member's search (normalised, see saved_search_normalise). Guarantees:
    one saved search per member and querystring (saving it again updates the email
    choice and returns it with created=False), at most MAX_SAVED_SEARCHES per member
    (counted under a lock on the member, so two tabs cannot pass it)."""
    normalised = saved_search_normalise(data=data, member=member)
    Member.objects.select_for_update().filter(pk=member.pk).first()
    existing = SavedSearch.objects.filter(owner=member, querystring=normalised.querystring).first()
    if existing is not None:
        if existing.notify_email != notify_email:
            existing.notify_email = notify_email
            existing.save(update_fields=["notify_email"])
        return existing, False
    if SavedSearch.objects.filter(owner=member).count() >= MAX_SAVED_SEARCHES:
        raise ValidationError(
            _("You can keep at most %(max)s saved searches. Delete one first.")
            % {"max": MAX_SAVED_SEARCHES},
            code="too_many",
        )
    cleaned = normalised.cleaned
    search = SavedSearch(
        owner=member, name=normalised.name, querystring=normalised.querystring,
        notify_email=notify_email, kind=cleaned.get("kind") or "",
        terms=cleaned.get("terms") or "", category=cleaned.get("category"),
        price_min_cents=cleaned.get("price_min"), price_max_cents=cleaned.get("price_max"),
    )
    try:
        with transaction.atomic():
            search.save()
    except IntegrityError:
        return SavedSearch.objects.get(owner=member, querystring=normalised.querystring), False
    return search, True


def saved_search_delete(*, search: SavedSearch, by: Member) -> None:
    """Delete one's own saved search (and its match history)."""
    if search.owner_id != by.pk:
        raise ValidationError(_("This is not your saved search."))
    search.delete()


# ---------------------------------------------------------------------------------------
# Matching a new listing
# ---------------------------------------------------------------------------------------


def _candidates(listing: Listing):
    category_ids = [listing.category_id]
    if listing.category.parent_id:
        category_ids.append(listing.category.parent_id)
    return (
        SavedSearch.objects.filter(owner__is_active=True)
        .exclude(owner_id=listing.owner_id)
        .filter(Q(kind="") | Q(kind=listing.kind))
        .filter(Q(terms="") | Q(terms=listing.terms))
        .filter(Q(category__isnull=True) | Q(category_id__in=category_ids))
        .filter(Q(price_min_cents__isnull=True) | Q(price_min_cents__lte=listing.price_cents))
        .filter(Q(price_max_cents__isnull=True) | Q(price_max_cents__gte=listing.price_cents))
        .select_related("owner")
        .order_by("id")
    )


def saved_search_matches(*, listing: Listing) -> list[SavedSearch]:
    """The saved searches of other active members that the listing matches now, run
    through their own ListingFilter on this one listing; nothing when it is not public.
    Reads only (see the module docstring for its cost)."""
    listing = Listing.objects.select_related("category").filter(pk=listing.pk).first()
    if listing is None:
        return []
    one = Listing.objects.visible_to_public().filter(pk=listing.pk)
    candidates = list(_candidates(listing))
    if not candidates:
        return []
    categories = _all_categories()
    matched: list[SavedSearch] = []
    for start in range(0, len(candidates), MATCH_CHUNK):
        chunk = candidates[start:start + MATCH_CHUNK]
        checks = {
            f"m{search.pk}": Exists(
                _replay_filter(search.querystring, one, search.owner, categories).qs
            )
            for search in chunk
        }
        row = Listing.objects.filter(pk=listing.pk).annotate(**checks).values(*checks).first()
        if row is None:
            break
        matched.extend(search for search in chunk if row[f"m{search.pk}"])
    return matched


def saved_search_record_matches(*, listing: Listing) -> list[SavedSearch]:
    """Find the saved searches the listing matches and record each match once
    (a listing paused and published again is not announced twice). Returns the
    searches matched for the first time."""
    matched = saved_search_matches(listing=listing)
    if not matched:
        return []
    already = set(
        SavedSearchMatch.objects.filter(listing_id=listing.pk, saved_search__in=matched)
        .values_list("saved_search_id", flat=True)
    )
    new = [search for search in matched if search.pk not in already]
    SavedSearchMatch.objects.bulk_create(
        [SavedSearchMatch(saved_search=search, listing_id=listing.pk) for search in new],
        ignore_conflicts=True,
    )
    return new
