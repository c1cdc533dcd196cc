"""A member's own listings (create, edit, photos, status, delete) and the listing page.

Views stay thin: fetch and authorise, call one service, render or redirect. Another
member's listing is a 404 on every owner page, never a 403.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core import geo, once
from core.cache_headers import shared_cache_when_anonymous
from core.ratelimit import limit_posts, posts_not_limited
from listings import services
from listings.forms import ListingForm, PhotoForm
from listings.models import Kind, Listing, Status

# The four choices of the "post a listing" page.
KIND_CHOICES = [
    (Kind.ITEM, "🔧", gettext_lazy("Lend, give, swap or sell a tool or a thing.")),
    (Kind.RIDE, "🚗", gettext_lazy("Offer the free seats in your car and share the costs.")),
    (Kind.SERVICE, "🤝", gettext_lazy("Offer your time and skills, hour for hour.")),
    (Kind.WANTED, "🔎", gettext_lazy("Ask your neighbours for something you need.")),
]

STATUS_BUTTONS = {
    Status.ACTIVE: gettext_lazy("Reactivate"),
    Status.PAUSED: gettext_lazy("Pause"),
    Status.CLOSED: gettext_lazy("Close"),
}
STATUS_DONE = {
    Status.ACTIVE: gettext_lazy("Your listing is visible again."),
    Status.PAUSED: gettext_lazy("Your listing is paused: only you can see it."),
    Status.CLOSED: gettext_lazy("Your listing is closed: only you can see it."),
}


def _get_own_listing(request: HttpRequest, pk: int) -> Listing:
    """The member's own listing, or 404: for another member's, a missing one, and one a
    moderator removed."""
    return get_object_or_404(
        Listing.objects.exclude(status=Status.REMOVED), pk=pk, owner=request.user
    )


def _status_actions(listing: Listing) -> list[tuple[str, str]]:
    return [(status, STATUS_BUTTONS[status]) for status in services.listing_next_statuses(listing)]


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@login_required
@require_safe
def my_listings(request: HttpRequest) -> HttpResponse:
    listings = list(request.user.listings.for_cards().order_by("-created_at", "-id"))
    groups = []
    for status in (Status.ACTIVE, Status.PAUSED, Status.CLOSED, Status.REMOVED):
        members = [listing for listing in listings if listing.status == status]
        for listing in members:
            listing.status_actions = _status_actions(listing)
        groups.append({"status": status, "label": status.label, "listings": members})
    return render(request, "listings/mine.html", {
        "groups": groups, "has_listings": bool(listings),
    })


@login_required
@require_safe
def listing_create_choose(request: HttpRequest) -> HttpResponse:
    kinds = [
        {"value": kind.value, "label": kind.label, "icon": icon, "text": text}
        for kind, icon, text in KIND_CHOICES
    ]
    return render(request, "listings/create_choose.html", {"kinds": kinds})


@login_required
@require_http_methods(["GET", "POST"])
@limit_posts("listing_create")
def listing_create(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in Kind.values:
        raise Http404
    data = request.POST if request.method == "POST" else None
    form = ListingForm(data, kind=kind, owner=request.user)
    if data is not None and form.is_valid():
        try:
            sent = once.submit_once(
                member=request.user, token=once.token_from(request), action="listing_create",
                create=lambda: services.listing_create(
                    owner=request.user, kind=kind, data=form.listing_data()
                ),
                url_of=lambda listing: reverse("listings:photos", args=[listing.pk]),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            if sent.replayed:
                once.tell_replayed(request)
            else:
                messages.success(request, _("Your listing is online. Add a few photos?"))
            return redirect(sent.url)
    return render(request, "listings/form.html", {
        "form": form, "kind": kind, "kind_label": Kind(kind).label, "listing": None,
    })


@login_required
@require_http_methods(["GET", "POST"])
@limit_posts("listing_change")
def listing_edit(request: HttpRequest, pk: int) -> HttpResponse:
    listing = _get_own_listing(request, pk)
    data = request.POST if request.method == "POST" else None
    form = ListingForm(data, kind=listing.kind, owner=request.user, listing=listing)
    if data is not None and form.is_valid():
        try:
            services.listing_update(listing=listing, by=request.user, data=form.listing_data())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("Your changes are saved."))
            return redirect(listing.get_absolute_url())
    return render(request, "listings/form.html", {
        "form": form, "kind": listing.kind, "kind_label": listing.get_kind_display(),
        "listing": listing,
    })


# No require_safe: the exchanges views render this page again for a refused POST.
@posts_not_limited("writes nothing: a POST only renders the page, as the exchanges views "
                   "do after a refused request")
@shared_cache_when_anonymous
def listing_detail(request: HttpRequest, pk: int) -> HttpResponse:
    listing = get_object_or_404(
        Listing.objects.for_cards().select_related("category__parent"), pk=pk
    )
    is_owner = request.user.is_authenticated and listing.owner_id == request.user.pk
    # Removed listings stay in the database for moderators but show to nobody; paused
    # and closed ones only to their owner. Others are told which it is (it was public,
    # and a bare "not found" reads like a broken link), still with a 404 so that search
    # engines and caches drop the page.
    # The owner still sees a removed listing, with the moderator's reason and a way to
    # appeal; everyone else gets a 404.
    if listing.status == Status.REMOVED and not is_owner:
        raise Http404
    if not listing.is_active and not is_owner:
        return render(request, "listings/unavailable.html", {"listing": listing}, status=404)
    distance_km = None
    viewer_point = request.user.approx_point if request.user.is_authenticated else None
    if viewer_point is not None and listing.approx_point is not None and not is_owner:
        # Both points are the public ~500 m approximations: nothing exact is revealed.
        distance_km = geo.haversine_km(viewer_point, listing.approx_point)
    return render(request, "listings/detail.html", {
        "listing": listing,
        "photos": list(listing.photos.all()),
        "is_owner": is_owner,
        "distance_km": distance_km,
        "status_actions": (_status_actions(listing)
                           if is_owner and listing.status != Status.REMOVED else []),
        "ride_has_left": bool(
            listing.is_ride and listing.departs_at and listing.departs_at <= timezone.now()
        ),
    })


@login_required
@require_http_methods(["GET", "POST"])
@limit_posts("photo_upload")
def listing_photos(request: HttpRequest, pk: int) -> HttpResponse:
    listing = _get_own_listing(request, pk)
    form = PhotoForm()
    if request.method == "POST":
        form = PhotoForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                sent = once.submit_once(
                    member=request.user, token=once.token_from(request), action="photo_add",
                    create=lambda: services.photos_add(
                        listing=listing, by=request.user, uploads=form.cleaned_data["image"],
                        alt_text=form.cleaned_data["alt_text"],
                    ),
                    url_of=lambda _photos: reverse("listings:photos", args=[listing.pk]),
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                if sent.replayed:
                    once.tell_replayed(request)
                else:
                    added = len(sent.result)
                    messages.success(request, _("The photo is added.") if added == 1 else ngettext(
                        "%(count)s photo is added.", "%(count)s photos are added.", added,
                    ) % {"count": added})
                    for refusal in sent.result.refused:
                        messages.warning(request, refusal)
                return redirect(sent.url)
    photos = list(listing.photos.all())
    return render(request, "listings/photos.html", {
        "listing": listing,
        "photos": photos,
        "form": form,
        "max_photos": settings.LISTING_MAX_PHOTOS,
        "is_full": len(photos) >= settings.LISTING_MAX_PHOTOS,
    })


@login_required
@require_POST
@limit_posts("listing_change")
def photo_move(request: HttpRequest, pk: int, photo_pk: int) -> HttpResponse:
    listing = _get_own_listing(request, pk)
    photo = get_object_or_404(listing.photos, pk=photo_pk)
    move = request.POST.get("move", "")
    try:
        services.photo_move(photo=photo, by=request.user, move=move)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if move == "first":
            messages.success(request, _("This photo is the cover now."))
    return redirect("listings:photos", listing.pk)


# GET asks first (a delete is one tap otherwise, and cannot be undone); POST deletes.
@login_required
@require_http_methods(["GET", "POST"])
@limit_posts("listing_change")
def photo_delete(request: HttpRequest, pk: int, photo_pk: int) -> HttpResponse:
    listing = _get_own_listing(request, pk)
    photo = get_object_or_404(listing.photos, pk=photo_pk)
    if request.method == "GET":
        return render(request, "listings/photo_confirm_delete.html",
                      {"listing": listing, "photo": photo})
    services.photo_delete(photo=photo, by=request.user)
    messages.success(request, _("The photo is deleted."))
    return redirect("listings:photos", listing.pk)


@login_required
@require_POST
@limit_posts("listing_change")
def listing_set_status(request: HttpRequest, pk: int) -> HttpResponse:
    listing = _get_own_listing(request, pk)
    status = request.POST.get("status", "")
    try:
        services.listing_set_status(listing=listing, by=request.user, status=status)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, STATUS_DONE[status])
    return redirect(_safe_next(request, listing.get_absolute_url()))


@login_required
@require_http_methods(["GET", "POST"])
@limit_posts("listing_change")
def listing_delete(request: HttpRequest, pk: int) -> HttpResponse:
    listing = _get_own_listing(request, pk)
    if request.method == "POST":
        services.listing_delete(listing=listing, by=request.user)
        messages.success(request, _("“%(title)s” is deleted.") % {"title": listing.title})
        return redirect("listings:mine")
    return render(request, "listings/confirm_delete.html", {"listing": listing})
