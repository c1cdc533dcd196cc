from django.urls import path

from exchanges import views

app_name = "exchanges"

urlpatterns = [
    path("", views.exchange_list, name="list"),
    path("request/<int:listing_pk>/", views.exchange_request, name="request"),
    path("blocked/<int:listing_pk>/", views.blocked_period_add, name="block"),
    path("blocked/<int:pk>/delete/", views.blocked_period_delete, name="unblock"),
    path("<int:pk>/", views.exchange_detail, name="detail"),
    path("<int:pk>/<str:action>/", views.exchange_act, name="act"),
]
