from django.urls import path

from members import views

app_name = "members"

urlpatterns = [
    path("me/edit/", views.profile_edit, name="edit"),
    path("me/location/", views.location, name="location"),
    path("me/location/withdraw/", views.location_withdraw, name="location-withdraw"),
    path("towns/", views.town_suggestions, name="towns"),
    path("<int:pk>/", views.profile, name="profile"),
]
