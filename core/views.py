from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_safe

from core.cache_headers import shared_cache_when_anonymous
from core.health import health_report


@never_cache
@require_GET
def healthz_live(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches neither the database nor the channel
    layer, so a database outage never gets every worker restarted."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when every part answers; 503 naming the part that does not. The
    database probe has a connection of its own (core.health), so it answers while
    the pool is busy."""
    report = health_report()
    status = 200 if all(value == "ok" for value in report.values()) else 503
    return JsonResponse(report, status=status)


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    return render(request, "core/offline.html")


@require_GET
@shared_cache_when_anonymous
def terms(request: HttpRequest) -> HttpResponse:
    return render(request, "core/terms.html")


@require_GET
@shared_cache_when_anonymous
def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "core/privacy.html", {"contact_email": settings.CONTACT_EMAIL})


@require_GET
@cache_control(max_age=0, no_cache=True)
def service_worker(request: HttpRequest) -> HttpResponse:
    # Served from the root so its scope covers the whole site.
    response = render(
        request,
        "core/sw.js",
        {
            "shell_urls": [
                "/offline/",
                static("css/partage.css"),
                static("js/partage.js"),
                static("icons/icon-192.png"),
            ],
            "cache_version": settings.SITE_NAME.lower() + "-v1",
        },
        content_type="application/javascript",
    )
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
@cache_control(max_age=3600)
def manifest(request: HttpRequest) -> JsonResponse:
    data = {
        "name": "Partage",
        "short_name": "Partage",
        "description": _("Lend, share rides and trade services with your neighbours."),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#fbfaf7",
        "theme_color": "#1f6f5c",
        "lang": request.LANGUAGE_CODE,
        "icons": [
            {"src": static("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("icons/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors that touch the database: the error may be the database.
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render(), status=500)


def too_many_requests(request: HttpRequest, exception=None) -> HttpResponse:
    """The 429 page, also used by allauth's own limits (config.urls.handler429)."""
    from core.ratelimit import too_many_requests as render_429

    return render_429(request)


@require_safe
def media(request: HttpRequest, path: str) -> HttpResponse:
    """Uploads, when this process serves them (SERVE_MEDIA). They are re-encoded images
    with generated names; the headers make sure a browser never treats one as anything
    else: nosniff (global) and a sandboxing policy that allows nothing to run."""
    from django.views.static import serve

    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "public, max-age=86400"
    return response
