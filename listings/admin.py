from django.contrib import admin

from listings.models import Category, Listing, Photo


class PhotoInline(admin.TabularInline):
    model = Photo
    extra = 0
    fields = ["thumbnail", "position", "alt_text", "width", "height"]
    readonly_fields = ["thumbnail", "width", "height"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "position"]
    list_filter = ["parent"]
    search_fields = ["name", "slug"]
    list_select_related = ["parent"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "terms", "status", "owner", "category", "price_cents",
                    "place_name", "created_at"]
    list_filter = ["kind", "terms", "status", "category__parent", "created_at"]
    search_fields = ["title", "description", "owner__email", "owner__display_name", "place_name"]
    list_select_related = ["owner", "category"]
    raw_id_fields = ["owner"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "updated_at", "approx_lat", "approx_lng"]
    inlines = [PhotoInline]


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ["listing", "position", "width", "height", "created_at"]
    search_fields = ["listing__title"]
    list_select_related = ["listing"]
    raw_id_fields = ["listing"]
