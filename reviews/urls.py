from django.urls import path

from reviews import views

app_name = "reviews"

urlpatterns = [
    path("exchange/<int:pk>/", views.review_create, name="create"),
    path("<int:pk>/edit/", views.review_edit, name="edit"),
    path("<int:pk>/reply/", views.review_reply, name="reply"),
    path("member/<int:pk>/", views.member_reviews, name="member"),
]
