"""The comparator's routes: the endpoints the benchmark measures."""

from django.urls import path

from bench.comparator import baseline, views

urlpatterns = [
    path("api/articles", views.articles),
    path("api/articles/feed", views.feed),
    path("api/articles/<slug:slug>", views.article),
    path("api/tags", views.tags),
    # The fixed-bytes baseline of bench/http_cache.py.
    path("baseline", baseline.fixed),
]
