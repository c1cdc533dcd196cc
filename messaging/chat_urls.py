from django.urls import path

from messaging import chat_views

app_name = "conversations"

urlpatterns = [
    path("", chat_views.inbox, name="inbox"),
    path("<int:pk>/", chat_views.conversation_detail, name="detail"),
    path("<int:pk>/send/", chat_views.message_send, name="send"),
    path("<int:pk>/block/", chat_views.member_block, name="block"),
    path("<int:pk>/unblock/", chat_views.member_unblock, name="unblock"),
    path("<int:pk>/request/<int:message_pk>/", chat_views.attached_request, name="request-attached"),
    path("listing/<int:listing_pk>/", chat_views.listing_contact, name="listing"),
    path("exchange/<int:exchange_pk>/", chat_views.exchange_contact, name="exchange"),
    path("wanted/<int:listing_pk>/", chat_views.wanted_answer, name="wanted-answer"),
]
