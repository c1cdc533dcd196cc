"""Pages whose URL also answers htmx with a fragment of themselves."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def render_page_or_fragment(request: HttpRequest, page: str, fragment: str,
                            context: dict[str, Any]) -> HttpResponse:
    """`fragment` for an htmx request, else `page` (with `partial` in the context
    saying which). A history restore asks for the whole page even though htmx sends
    it. The response varies on both headers, so caches keep the page and the fragment
    apart."""
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    response = render(request, fragment if partial else page, {**context, "partial": partial})
    patch_vary_headers(response, ("HX-Request", "HX-History-Restore-Request"))
    return response
