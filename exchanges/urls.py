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

# loan extensions
from exchanges import extension_views  # noqa: E402

urlpatterns += [
    path("<int:pk>/extension/request/", extension_views.extension_request, name="extension-request"),
    path("extension/<int:pk>/accept/", extension_views.extension_accept, name="extension-accept"),
    path("extension/<int:pk>/decline/", extension_views.extension_decline, name="extension-decline"),
    path("extension/<int:pk>/cancel/", extension_views.extension_cancel, name="extension-cancel"),
]

# payments (Stripe): Connect onboarding, Checkout, deposit decisions
from exchanges import payment_views  # noqa: E402

urlpatterns += [
    path("payments/connect/", payment_views.connect_start, name="connect-start"),
    path("payments/connect/return/", payment_views.connect_return, name="connect-return"),
    path("payments/connect/refresh/", payment_views.connect_refresh, name="connect-refresh"),
    path("payments/<int:pk>/pay/", payment_views.checkout_pay, name="checkout-pay"),
    path("payments/<int:pk>/deposit/", payment_views.checkout_deposit, name="checkout-deposit"),
    path("payments/<int:pk>/done/", payment_views.checkout_done, name="checkout-done"),
    path("payments/<int:pk>/deposit/release/", payment_views.deposit_release, name="deposit-release"),
    path("payments/<int:pk>/deposit/claim/", payment_views.deposit_claim, name="deposit-claim"),
]

# service trades: the provider records the time spent
from exchanges import service_views  # noqa: E402

urlpatterns += [
    path("<int:pk>/time/record/", service_views.record_time, name="record-time"),
    path("<int:pk>/time/confirm/", service_views.confirm_time, name="confirm-time"),
]
