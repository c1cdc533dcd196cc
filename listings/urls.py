from django.urls import path

from listings import browse_views, saved_search_views, views

app_name = "listings"

urlpatterns = [
    path("", browse_views.listing_list, name="list"),
    path("mine/", views.my_listings, name="mine"),
    path("saved/", saved_search_views.saved_search_list, name="saved"),
    path("saved/new/", saved_search_views.saved_search_create, name="saved-create"),
    path("saved/<int:pk>/delete/", saved_search_views.saved_search_delete, name="saved-delete"),
    path("new/", views.listing_create_choose, name="create"),
    path("new/<str:kind>/", views.listing_create, name="create-kind"),
    path("<int:pk>/", views.listing_detail, name="detail"),
    path("<int:pk>/edit/", views.listing_edit, name="edit"),
    path("<int:pk>/photos/", views.listing_photos, name="photos"),
    path("<int:pk>/photos/<int:photo_pk>/delete/", views.photo_delete, name="photo-delete"),
    path("<int:pk>/photos/<int:photo_pk>/move/", views.photo_move, name="photo-move"),
    path("<int:pk>/status/", views.listing_set_status, name="status"),
    path("<int:pk>/delete/", views.listing_delete, name="delete"),
]
