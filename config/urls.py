from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from core import language
from core import views as core_views
from exchanges import payment_views
from listings import browse_views

urlpatterns = [
    path("", browse_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("healthz/live", core_views.healthz_live, name="healthz-live"),
    path("offline/", core_views.offline, name="offline"),
    path("terms/", core_views.terms, name="terms"),
    path("privacy/", core_views.privacy, name="privacy"),
    path("sw.js", core_views.service_worker, name="service-worker"),
    path("manifest.webmanifest", core_views.manifest, name="manifest"),
    # The menu's language switch needs no CSRF token (core/language.py says why).
    path("i18n/language/", language.set_language, name="language"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("members/", include("members.urls")),
    path("listings/", include("listings.urls")),
    path("exchanges/", include("exchanges.urls")),
    path("stripe/webhook/", payment_views.stripe_webhook, name="stripe-webhook"),
    path("notifications/", include("messaging.urls")),
    path("messages/", include("messaging.chat_urls")),
    path("time/", include("ledger.urls")),
    path("", include("moderation.urls")),
    path("reviews/", include("reviews.urls")),
    path("admin/", admin.site.urls),
]

if settings.SERVE_MEDIA:
    # Uploads are re-encoded images with generated names; nosniff is set globally.
    media_prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns += [
        re_path(
            rf"^{media_prefix}(?P<path>.*)$",
            core_views.media,
        )
    ]

handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
handler429 = "core.views.too_many_requests"
