"""Root URLs: the API under /api/, its schema and docs, the admin; anything else is a JSON 404."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from api_project.docs import offline_docs
from resources import exceptions

urlpatterns = [
    path("api/", include("resources.urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs",
        offline_docs(SpectacularSwaggerView.as_view(url_name="schema")),
        name="docs",
    ),
    path(
        "api/redoc",
        offline_docs(
            SpectacularRedocView.as_view(url_name="schema", template_name="conduit/redoc.html")
        ),
        name="redoc",
    ),
    path("admin/", admin.site.urls),
    # Last: every other path answers 404 in the API's error shape, whatever DEBUG says.
    re_path(r"", exceptions.not_found),
]

handler400 = exceptions.bad_request
handler403 = exceptions.permission_denied
handler404 = exceptions.not_found
handler500 = exceptions.server_error
