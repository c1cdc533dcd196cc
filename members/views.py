"""Members pages: the public profile, editing one's own profile, and the location a
member chooses to share. Views check who may act, call one service, and render or
redirect; the rules live in members/services.py."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)

from core import geo
from core.ratelimit import limit_posts
from members import selectors, services
from members.forms import LocationForm, ProfileForm
from members.models import Member

TOWN_QUERY_MAX_LENGTH = 60
TOWN_SUGGESTIONS_LIMIT = 8


@require_safe
def profile(request: HttpRequest, pk: int) -> HttpResponse:
    """An active member's profile: to everyone if they consented, otherwise to signed-in
    members only. It never shows an exact place."""
    member = get_object_or_404(Member, pk=pk, is_active=True)
    if not selectors.profile_visible_to(member, request.user):
        return render(request, "members/profile_private.html", {"member": member})
    paginator = Paginator(selectors.public_listings_of(member), settings.LISTINGS_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "members/profile.html", {
        "member": member,
        "page": page,
        "listings": page.object_list,
        "is_me": request.user.is_authenticated and request.user.pk == member.pk,
    })


@login_required
@require_http_methods(["GET", "POST"])
@limit_posts("profile_edit")
def profile_edit(request: HttpRequest) -> HttpResponse:
    member = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES, instance=member)
        if form.is_valid():
            try:
                services.member_update_profile(
                    member=member,
                    display_name=form.cleaned_data["display_name"],
                    bio=form.cleaned_data["bio"],
                    neighbourhood=form.cleaned_data["neighbourhood"],
                    languages=form.cleaned_data["languages"],
                    avatar=form.cleaned_data["avatar"] or None,
                    remove_avatar=form.cleaned_data["remove_avatar"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Your profile is saved."))
                return redirect("members:profile", member.pk)
        # The form copied the rejected values onto request.user; show the stored ones.
        member.refresh_from_db()
    else:
        form = ProfileForm(instance=member)
    return render(request, "members/profile_edit.html", {
        "form": form, "member": member,
        # Online payments exist only when Stripe is configured (see the README).
        "payments_enabled": bool(settings.STRIPE_SECRET_KEY),
    })


@login_required
@require_http_methods(["GET", "POST"])
@limit_posts("account_settings")
def location(request: HttpRequest) -> HttpResponse:
    member = request.user
    if request.method == "POST":
        form = LocationForm(request.POST)
        if form.is_valid():
            try:
                services.member_share_location(
                    member=member,
                    town=form.cleaned_data["town"],
                    lat=form.cleaned_data["lat"],
                    lng=form.cleaned_data["lng"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Your location is saved. Others see it only "
                                            "rounded to about 500 m."))
                return redirect("members:location")
    else:
        form = LocationForm(initial={"town": member.home_place})
    return render(request, "members/location.html", {
        "form": form,
        "member": member,
        "consent_given": selectors.location_consent_given(member),
        "history": selectors.consent_history(member),
    })


@login_required
@require_POST
@limit_posts("account_settings")
def location_withdraw(request: HttpRequest) -> HttpResponse:
    services.member_withdraw_location(member=request.user)
    messages.success(request, _("Your location is erased and your consent withdrawn."))
    return redirect("members:location")


@require_GET
def town_suggestions(request: HttpRequest) -> HttpResponse:
    """<option> elements for the #town-suggestions datalist (htmx swaps them in).

    Bounded: the query is cut to 60 characters, under two letters gives nothing, and at
    most 8 towns come back. "town" is accepted too, because htmx sends the input's own
    name when the town field itself triggers the request."""
    # htmx sends the input under its own name: q, town, origin or destination.
    query = next(
        (request.GET[name] for name in ("q", "town", "origin", "destination", "near",
                                        "origin_near", "destination_near")
         if request.GET.get(name)),
        "",
    )[:TOWN_QUERY_MAX_LENGTH]
    towns = geo.suggest_towns(query, limit=TOWN_SUGGESTIONS_LIMIT)
    response = render(request, "members/_town_options.html", {"towns": towns})
    # The gazetteer ships with the code: the answer only changes on deploy.
    patch_cache_control(response, public=True, max_age=3600)
    return response
