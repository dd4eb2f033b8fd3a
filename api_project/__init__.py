"""Conduit API: the Django project (settings, root URLs, WSGI/ASGI entry points)."""
