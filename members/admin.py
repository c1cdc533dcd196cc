from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from members.models import ConsentRecord, Member


class ConsentRecordInline(admin.TabularInline):
    model = ConsentRecord
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "granted", "at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Member)
class MemberAdmin(UserAdmin):
    ordering = ["-date_joined"]
    list_display = ["email", "display_name", "neighbourhood", "is_active", "is_staff",
                    "location_consent", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "location_consent", "date_joined"]
    search_fields = ["email", "display_name", "neighbourhood"]
    readonly_fields = ["date_joined", "last_login", "home_place", "approx_lat", "approx_lng"]
    inlines = [ConsentRecordInline]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Profile"), {"fields": ["display_name", "bio", "neighbourhood", "languages", "avatar"]}),
        (_("Location"), {"fields": ["location_consent", "home_place", "approx_lat", "approx_lng"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups",
                                       "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "display_name", "password1", "password2"]}),
    ]


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
