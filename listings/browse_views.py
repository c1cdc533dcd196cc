"""The home page and the browse/search page: public, read-only."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from core.cache_headers import shared_cache_when_anonymous
from core.fragments import render_page_or_fragment
from core.pagination import CappedPaginator
from listings import selectors
from listings.filters import KIND_TABS, NEAR_ME, ListingFilter
from listings.models import Listing


@require_safe
@shared_cache_when_anonymous
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "listings/home.html", {
        "sections": selectors.home_sections(),
        "categories": selectors.top_categories(),
        "kind_tabs": KIND_TABS,
    })


@require_safe
@shared_cache_when_anonymous
def listing_list(request: HttpRequest) -> HttpResponse:
    """Public listings, filtered by the querystring. An htmx request from the filter
    form gets only the results (the form stays as the visitor is typing in it)."""
    listing_filter = ListingFilter(
        request.GET, queryset=Listing.objects.visible_to_public().for_cards(), request=request
    )
    # "1,000+ listings" rather than a count of the whole catalogue on every request.
    paginator = CappedPaginator(listing_filter.qs, getattr(settings, "LISTINGS_PAGE_SIZE", 20),
                                cap=settings.LISTINGS_COUNT_CAP)
    page = paginator.get_page(request.GET.get("page"))
    user = request.user
    context = {
        "filter": listing_filter,
        "form": listing_filter.form,
        "page_obj": page,
        "page_range": paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1),
        "kind_tabs": KIND_TABS,
        "current_kind": listing_filter.current_kind,
        "near_me": NEAR_ME,
        "can_search_near_me": user.is_authenticated and user.location_consent
        and user.approx_point is not None,
    }
    return render_page_or_fragment(request, "listings/list.html", "listings/_results.html",
                                   context)
