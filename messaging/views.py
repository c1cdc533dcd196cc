"""A member's notifications: the list, open one (marks it read), mark all read.

Only the member's own: another member's notification is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.fragments import render_page_or_fragment
from core.ratelimit import limit_posts
from messaging import services
from messaging.models import Notification

PAGE_SIZE = 20


def _get_own_notification(request: HttpRequest, pk: int) -> Notification:
    return get_object_or_404(Notification, pk=pk, member=request.user)


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    notifications = Notification.objects.for_member(request.user)
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render_page_or_fragment(
        request, "messaging/notification_list.html", "messaging/_notification_rows.html", {
            "page_obj": page,
            "notifications": page.object_list,
            "page_range": page.paginator.get_elided_page_range(page.number),
        })


@login_required
@require_POST
@limit_posts("notification_read")
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    notification = _get_own_notification(request, pk)
    services.notification_mark_read(notification=notification)
    # Only ever a path on this site: a stored URL never sends anyone elsewhere.
    target = notification.url
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("notifications:list")


@login_required
@require_POST
@limit_posts("notification_read")
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notifications_mark_all_read(member=request.user)
    if count:
        messages.success(request, _("All your notifications are marked as read."))
    return redirect("notifications:list")
