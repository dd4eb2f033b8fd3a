"""WSGI entry point, used by gunicorn: Django's application, with anonymous reads that the
shared response cache holds answered in front of it (resources/cached_reads.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api_project.settings")

django_application = get_wsgi_application()

# After Django is set up: the front reads the settings and the cache.
from resources.cached_reads import CachedReadsApplication  # noqa: E402

application = CachedReadsApplication(django_application)
