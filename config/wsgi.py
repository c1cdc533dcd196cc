"""WSGI entry point for the HTTP workers of the production topology (gunicorn).

Measured on the real pages (docs/performance.md), Django over WSGI answered several
times the requests of the same views over ASGI; websockets stay on the ASGI workers
(config/asgi.py, daphne), which nginx sends /ws/ to.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
