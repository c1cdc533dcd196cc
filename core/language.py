"""The language switch of every page's menu, without a CSRF token.

A token in the menu would make every page personal (a per-visitor token in the HTML and
a cookie set on the way out), so no shared cache could keep even the anonymous home
page. What the form changes is harmless to forge: a cross-site POST can at most switch a
visitor's language, as their Accept-Language header already does, and Django's view only
redirects to a URL of this site.
"""

from __future__ import annotations

from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from core.ratelimit import posts_not_limited

set_language = posts_not_limited(
    "writes only the visitor's language cookie, nothing that others see or store"
)(csrf_exempt(require_POST(django_set_language)))
