"""Reviews in the admin: read-only. Hiding and restoring go through the services (so the
reputation figures follow), as the actions below do; the moderation app will add its
report pages on top."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from reviews import services
from reviews.models import Reputation, Review, ReviewWindow


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["id", "exchange", "author", "subject", "role", "rating", "published_at",
                    "hidden_at"]
    list_filter = ["role", "rating", ("published_at", admin.EmptyFieldListFilter),
                   ("hidden_at", admin.EmptyFieldListFilter)]
    search_fields = ["text", "reply", "author__email", "subject__email"]
    list_select_related = ["exchange__listing", "author", "subject"]
    raw_id_fields = ["exchange", "author", "subject"]
    actions = ["hide", "restore"]

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("reviews.change_review")

    @admin.action(description=_("Hide the selected reviews"), permissions=["moderate"])
    def hide(self, request: HttpRequest, queryset: QuerySet) -> None:
        for review in queryset:
            services.review_remove(review=review, by=request.user, reason="admin")
        messages.success(request, ngettext("%(n)d review hidden.", "%(n)d reviews hidden.",
                                           queryset.count()) % {"n": queryset.count()})

    @admin.action(description=_("Show the selected reviews again"), permissions=["moderate"])
    def restore(self, request: HttpRequest, queryset: QuerySet) -> None:
        for review in queryset:
            services.review_restore(review=review, by=request.user)
        messages.success(request, ngettext("%(n)d review shown again.", "%(n)d reviews shown again.",
                                           queryset.count()) % {"n": queryset.count()})


@admin.register(ReviewWindow)
class ReviewWindowAdmin(ReadOnlyAdmin):
    list_display = ["exchange", "completed_at", "closes_at", "reminded_at", "published_at"]
    list_select_related = ["exchange__listing"]


@admin.register(Reputation)
class ReputationAdmin(ReadOnlyAdmin):
    list_display = ["member", "average", "count", "updated_at"]
    list_select_related = ["member"]
    search_fields = ["member__email", "member__display_name"]
