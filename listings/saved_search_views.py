"""Saved searches: save the search one is looking at, list one's saved searches, delete
one. Only the owner ever sees or deletes a saved search: anyone else gets a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core import once
from core.ratelimit import limit_posts
from listings import saved_searches
from listings.models import SavedSearch

# The longest querystring accepted from the save form (the filters are short fields).
MAX_QUERY_LENGTH = 1000


@login_required
@require_GET
def saved_search_list(request: HttpRequest) -> HttpResponse:
    searches = SavedSearch.objects.filter(owner=request.user).order_by("-created_at", "-id")
    return render(request, "listings/saved_list.html", {
        "searches": searches,
        "max_searches": saved_searches.MAX_SAVED_SEARCHES,
    })


@login_required
@require_POST
@limit_posts("saved_search")
def saved_search_create(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("query", "")[:MAX_QUERY_LENGTH]
    results_url = f"{reverse('listings:list')}?{query}" if query else reverse("listings:list")
    try:
        sent = once.submit_once(
            member=request.user, token=once.token_from(request), action="saved_search_create",
            create=lambda: saved_searches.saved_search_create(
                member=request.user, data=QueryDict(query),
                notify_email=request.POST.get("notify_email") == "on",
            ),
            url_of=lambda _result: reverse("listings:saved"),
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(results_url)
    if sent.replayed:
        once.tell_replayed(request)
        return redirect(sent.url)
    search, created = sent.result
    if created:
        messages.success(request, _("Search saved: we will tell you when a new listing "
                                    "matches “%(name)s”.") % {"name": search.name})
    else:
        messages.info(request, _("You had already saved this search; your email choice "
                                 "is updated."))
    return redirect("listings:saved")


@login_required
@require_POST
@limit_posts("saved_search")
def saved_search_delete(request: HttpRequest, pk: int) -> HttpResponse:
    search = get_object_or_404(SavedSearch, pk=pk, owner=request.user)
    saved_searches.saved_search_delete(search=search, by=request.user)
    messages.success(request, _("Saved search “%(name)s” deleted.") % {"name": search.name})
    return redirect("listings:saved")
