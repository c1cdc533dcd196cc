"""The home page and the browse/search page: public, read-only."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from listings import selectors
from listings.filters import KIND_TABS, NEAR_ME, ListingFilter
from listings.models import Listing


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "listings/home.html", {
        "sections": selectors.home_sections(),
        "categories": selectors.top_categories(),
        "kind_tabs": KIND_TABS,
    })


@require_safe
def listing_list(request: HttpRequest) -> HttpResponse:
    """Public listings, filtered by the querystring. An htmx request from the filter
    form gets only the results (the form stays as the visitor is typing in it)."""
    listing_filter = ListingFilter(
        request.GET, queryset=Listing.objects.visible_to_public().for_cards(), request=request
    )
    paginator = Paginator(listing_filter.qs, getattr(settings, "LISTINGS_PAGE_SIZE", 20))
    page = paginator.get_page(request.GET.get("page"))
    # A history restore asks for the full page even though htmx sends it.
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    user = request.user
    context = {
        "filter": listing_filter,
        "form": listing_filter.form,
        "page_obj": page,
        "page_range": paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1),
        "kind_tabs": KIND_TABS,
        "current_kind": listing_filter.current_kind,
        "partial": partial,
        "near_me": NEAR_ME,
        "can_search_near_me": user.is_authenticated and user.location_consent
        and user.approx_point is not None,
    }
    template = "listings/_results.html" if partial else "listings/list.html"
    response = render(request, template, context)
    # The same URL answers with a fragment or a page: caches must tell them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response
