from django.urls import path

from moderation import views

app_name = "moderation"

urlpatterns = [
    path("report/<slug:kind>/<int:pk>/", views.report_create, name="report"),
    path("moderation/appeal/<slug:kind>/<int:pk>/", views.appeal_create, name="appeal"),
    path("moderation/warning/", views.warning, name="warning"),
    path("moderation/warning/<int:pk>/understood/", views.warning_acknowledge,
         name="warning-acknowledge"),
]
