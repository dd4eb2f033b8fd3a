"""WSGI entry point of the comparator."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.comparator.settings")
application = get_wsgi_application()
