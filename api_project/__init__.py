"""Conduit API: the Django project (settings, root URLs, WSGI/ASGI entry points)."""

# The one version number: the package's (pyproject.toml reads it from here) and the API's (the
# schema's info.version, set in settings.py).
__version__ = "1.1.0"
