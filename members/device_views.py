"""The member's devices page: where they are signed in, and signing any of them out."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.ratelimit import limit_posts
from members import devices


@login_required
@require_GET
def device_list(request: HttpRequest) -> HttpResponse:
    return render(request, "members/devices.html", {
        "devices": devices.devices_of(request.user, request.session.session_key),
    })


@login_required
@require_POST
@limit_posts("account_settings")
def device_sign_out(request: HttpRequest, pk: int) -> HttpResponse:
    current_key = request.session.session_key
    ended_key = devices.device_sign_out(member=request.user, device_pk=pk)
    if ended_key is None:
        raise Http404
    if ended_key == current_key:
        # This very browser: a normal sign-out, so nothing writes the session back.
        logout(request)
        return redirect("account_login")
    messages.success(request, _("That device is signed out."))
    return redirect("members:devices")


@login_required
@require_POST
@limit_posts("account_settings")
def devices_sign_out_others(request: HttpRequest) -> HttpResponse:
    count = devices.devices_sign_out_all(
        member=request.user, except_session_key=request.session.session_key
    )
    messages.success(request, _("Signed out of %(count)s other device(s).") % {"count": count})
    return redirect("members:devices")
