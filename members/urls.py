from django.urls import path

from members import data_views, device_views, views

app_name = "members"

urlpatterns = [
    path("me/edit/", views.profile_edit, name="edit"),
    path("me/location/", views.location, name="location"),
    path("me/location/withdraw/", views.location_withdraw, name="location-withdraw"),
    path("me/data/", data_views.my_data, name="my-data"),
    path("me/consents/", data_views.consent_update, name="consent"),
    path("me/data/export/", data_views.export_start, name="export"),
    path("me/data/export/<str:token>/", data_views.export_download, name="export-download"),
    path("me/delete/", data_views.account_delete, name="delete"),
    path("me/devices/", device_views.device_list, name="devices"),
    path("me/devices/<int:pk>/sign-out/", device_views.device_sign_out, name="device-sign-out"),
    path("me/devices/sign-out-others/", device_views.devices_sign_out_others,
         name="devices-sign-out-others"),
    path("towns/", views.town_suggestions, name="towns"),
    path("<int:pk>/", views.profile, name="profile"),
]
