"""Reads the browse pages share: text search, distance, and the home page sections.

Each function takes and returns a queryset (or plain data) and never writes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connections
from django.db.models import (
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    QuerySet,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce, Sqrt
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from core import geo
from listings.models import SEARCH_CONFIG, SEARCH_VECTOR, Category, Kind, Listing, card_photos

# ---------------------------------------------------------------------------------------
# Text search
# ---------------------------------------------------------------------------------------

# Web-search syntax, as PostgreSQL's websearch_to_tsquery reads it: "a phrase",
# -excluded, and `or` between alternatives. The SQLite fallback follows the same rules.
_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')


def _parse_websearch(text: str) -> list[list[tuple[str, bool]]]:
    """Alternatives (split on `or`), each a list of (term, excluded) that must all hold."""
    groups: list[list[tuple[str, bool]]] = [[]]
    for match in _TOKEN.finditer(text):
        minus, phrase, word = match.groups()
        if word is not None and word.lower() == "or":
            if groups[-1]:
                groups.append([])
            continue
        if word is not None:
            minus, term = ("-", word[1:]) if word.startswith("-") else ("", word)
        else:
            term = phrase
        term = term.strip().strip('"')
        if term:
            groups[-1].append((term, minus == "-"))
    return [group for group in groups if group]


def _contains_all(text: str) -> Q | None:
    """SQLite and friends: every word must appear in the title or the description."""
    alternatives = Q()
    found = False
    for group in _parse_websearch(text):
        condition = Q()
        for term, excluded in group:
            match = Q(title__icontains=term) | Q(description__icontains=term)
            condition &= ~match if excluded else match
        alternatives |= condition
        found = True
    return alternatives if found else None


def search_text(queryset: QuerySet[Listing], text: str, *, rank: bool = False) -> QuerySet:
    """Listings matching the words of `text` in their title or description.

    On PostgreSQL the filter is written on exactly `SEARCH_VECTOR`, the expression of
    the GIN index, so the index serves it; with `rank=True` a `rank` annotation (higher
    is better) is added for sorting by relevance. Elsewhere every word must appear
    (case-insensitive), and `rank` is a constant.
    """
    text = (text or "").strip()
    if not text:
        return queryset
    if connections[queryset.db].vendor == "postgresql":
        query = SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")
        queryset = queryset.alias(search_vector=SEARCH_VECTOR).filter(search_vector=query)
        if rank:
            queryset = queryset.annotate(rank=SearchRank(F("search_vector"), query))
        return queryset
    condition = _contains_all(text)
    # Only operators and no word: nothing to match on (as websearch_to_tsquery does).
    queryset = queryset.none() if condition is None else queryset.filter(condition)
    if rank:
        queryset = queryset.annotate(rank=Value(1.0, output_field=FloatField()))
    return queryset


# ---------------------------------------------------------------------------------------
# Distance
# ---------------------------------------------------------------------------------------


def within_distance(
    queryset: QuerySet[Listing],
    *,
    centre: geo.Point,
    radius_km: float,
    lat_field: str = "approx_lat",
    lng_field: str = "approx_lng",
    annotate_as: str = "distance_km",
) -> QuerySet:
    """Listings whose point (by default the public ~500 m approximation, never the
    exact one) lies within `radius_km` of `centre`, annotated with that distance in km.

    A bounding box comes first, so the (lat, lng) index narrows the rows; then an
    equirectangular distance in plain SQL arithmetic, which SQLite and PostgreSQL both
    compute without trigonometry: cos(latitude) of the centre is a Python constant.
    Within 50 km its error is far below the 500 m blur of the points themselves.
    Boxes crossing the antimeridian are not handled (no neighbourhood spans it).
    """
    min_lat, max_lat, min_lng, max_lng = geo.bounding_box(centre, radius_km)
    km_per_degree_lng = geo.KM_PER_DEGREE_LAT * max(math.cos(math.radians(centre.lat)), 0.01)
    dx = (F(lng_field) - Value(centre.lng)) * Value(km_per_degree_lng)
    dy = (F(lat_field) - Value(centre.lat)) * Value(geo.KM_PER_DEGREE_LAT)
    squared_name = f"{annotate_as}_squared"
    return (
        queryset.filter(**{
            f"{lat_field}__gte": min_lat, f"{lat_field}__lte": max_lat,
            f"{lng_field}__gte": min_lng, f"{lng_field}__lte": max_lng,
        })
        .alias(**{squared_name: ExpressionWrapper(dx * dx + dy * dy, output_field=FloatField())})
        # Compare squares: the circle test needs no square root.
        .filter(**{f"{squared_name}__lte": float(radius_km) ** 2})
        .annotate(**{annotate_as: Sqrt(F(squared_name), output_field=FloatField())})
    )


# ---------------------------------------------------------------------------------------
# Owner ratings
# ---------------------------------------------------------------------------------------


def with_owner_rating(queryset: QuerySet[Listing]) -> QuerySet[Listing]:
    """Join each owner's reputation (reviews app) so cards show the rating without a
    query per listing: one LEFT JOIN on the member's primary key."""
    return queryset.select_related("owner__reputation")


# ---------------------------------------------------------------------------------------
# Home page
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeSection:
    key: str
    title: str
    listings: list[Listing]
    more_url: str
    empty_hint: str


def _browse_url(**params: str) -> str:
    return f"{reverse('listings:list')}?{urlencode(params)}" if params else reverse("listings:list")


def home_sections(*, size: int = 4) -> list[HomeSection]:
    """A handful of public cards per kind: one query per section whatever `size`
    (listings with owner and category joined), then one for the photos of them all."""
    # The photos are fetched once for every section below, not once per section: each
    # query is a round trip and an ORM compilation, which is what the home page cost.
    public = with_owner_rating(Listing.objects.visible_to_public().for_cards()
                               .prefetch_related(None))
    specs = [
        ("items", _("Newest tools and items"), public.filter(kind=Kind.ITEM),
         _browse_url(kind=Kind.ITEM), _("No tools or items yet: lend yours first.")),
        ("rides", _("Upcoming rides"),
         public.filter(kind=Kind.RIDE).order_by("departs_at", "id"),
         _browse_url(kind=Kind.RIDE), _("No rides planned yet.")),
        ("services", _("Services"), public.filter(kind=Kind.SERVICE),
         _browse_url(kind=Kind.SERVICE), _("No services offered yet.")),
        ("wanted", _("Wanted by neighbours"), public.filter(kind=Kind.WANTED),
         _browse_url(kind=Kind.WANTED), _("Nobody is looking for anything yet.")),
    ]
    sections = [
        HomeSection(key=key, title=str(title), listings=list(queryset[:size]),
                    more_url=url, empty_hint=str(hint))
        for key, title, queryset, url, hint in specs
    ]
    prefetch_related_objects([listing for section in sections for listing in section.listings],
                             card_photos())
    return sections


def top_categories() -> list[Category]:
    """The first level of the category tree, for shortcuts (one query)."""
    return list(Category.objects.filter(parent__isnull=True).order_by("position", "name"))


def category_choices_queryset() -> QuerySet[Category]:
    """Every category, each parent followed by its children (for a select)."""
    return Category.objects.select_related("parent").order_by(
        # A child sorts with its parent's group; the parent comes first in its group.
        Coalesce("parent__position", "position"),
        Coalesce("parent_id", "id"),
        F("parent_id").asc(nulls_first=True),
        "position",
        "name",
    )
