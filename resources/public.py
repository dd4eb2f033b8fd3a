"""Absolute addresses for the feeds, sitemaps and article pages, all from PUBLIC_BASE_URL."""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.http import Http404
from django.urls import reverse


def public_base_url() -> str:
    """PUBLIC_BASE_URL, the one origin of every absolute link these routes write. Unset (with
    DEBUG off), they do not exist: a link from the Host header would be the client's choice,
    and a crawler or feed reader would keep it."""
    if not settings.PUBLIC_BASE_URL:
        raise Http404("PUBLIC_BASE_URL is not set.")
    return settings.PUBLIC_BASE_URL


def public_url(name: str, *args: str) -> str:
    """The absolute address of the named route."""
    return public_base_url() + reverse(name, args=args)


def frontend_article_url(slug: str) -> str | None:
    """The article in the frontend, from FRONTEND_ARTICLE_URL; None when it is not set."""
    template = settings.FRONTEND_ARTICLE_URL
    return template.replace("{slug}", quote(slug, safe="")) if template else None
