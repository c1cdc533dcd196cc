from django.contrib import admin

from messaging.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["member", "kind", "exchange", "created_at", "read_at", "emailed_at"]
    list_filter = ["kind", "needs_action"]
    search_fields = ["member__email", "member__display_name"]
    raw_id_fields = ["member", "exchange"]
    readonly_fields = ["created_at", "dedupe_key"]
    date_hierarchy = "created_at"
