from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from members import services
from members.models import ConsentRecord, Member


class ConsentRecordInline(admin.TabularInline):
    model = ConsentRecord
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "granted", "at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Member)
class MemberAdmin(UserAdmin):
    ordering = ["-date_joined"]
    list_display = ["email", "display_name", "neighbourhood", "is_active", "is_staff",
                    "location_consent", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "location_consent", "date_joined"]
    search_fields = ["email", "display_name", "neighbourhood"]
    # Consent and location change only through the member's own page or the actions
    # below (which record the withdrawal); the photo only through the image pipeline
    # (an upload here would skip the metadata stripping).
    readonly_fields = ["date_joined", "last_login", "avatar_preview", "location_consent",
                       "home_place", "approx_lat", "approx_lng"]
    inlines = [ConsentRecordInline]
    actions = ["withdraw_location", "remove_avatar"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Profile"), {"fields": ["display_name", "bio", "neighbourhood", "languages",
                                   "avatar_preview"]}),
        (_("Location (approximate, public)"), {
            "fields": ["location_consent", "home_place", "approx_lat", "approx_lng"],
        }),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups",
                                       "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "display_name", "password1", "password2"]}),
    ]

    @admin.display(description=_("photo"))
    def avatar_preview(self, obj: Member) -> str:
        if not obj.avatar_thumbnail:
            return "—"
        return format_html('<img src="{}" alt="" width="96">', obj.avatar_thumbnail.url)

    @admin.action(description=_("Erase the location and withdraw consent"))
    def withdraw_location(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for member in queryset.filter(location_consent=True):
            services.member_withdraw_location(member=member)
            count += 1
        self.message_user(request, ngettext(
            "Location erased for %(count)d member.", "Location erased for %(count)d members.",
            count) % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Remove the photo"))
    def remove_avatar(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for member in queryset.exclude(avatar=""):
            services.member_update_profile(
                member=member, display_name=member.display_name, bio=member.bio,
                neighbourhood=member.neighbourhood, languages=member.languages,
                remove_avatar=True,
            )
            count += 1
        self.message_user(request, ngettext(
            "Photo removed for %(count)d member.", "Photo removed for %(count)d members.",
            count) % {"count": count}, messages.SUCCESS)


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    list_display = ["member", "kind", "granted", "at"]
    list_filter = ["kind", "granted", "at"]
    search_fields = ["member__email", "member__display_name"]
    list_select_related = ["member"]
    readonly_fields = ["member", "kind", "granted", "at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
