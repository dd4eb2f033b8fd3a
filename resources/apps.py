"""App configuration for resources."""

import logging

from django.apps import AppConfig
from django.conf import settings


class ResourcesConfig(AppConfig):
    name = "resources"
    verbose_name = "Conduit"

    def ready(self) -> None:
        # Registers the Token scheme with drf-spectacular, the database checks, and the signals
        # that make this process forget the tokens of a user who changed.
        from django.db.backends.signals import connection_created

        from resources import authentication, checks, json_logging, schema, timestamps  # noqa: F401

        json_logging.install_request_ids()
        connection_created.connect(timestamps.use_c_loader, dispatch_uid="timestamps.use_c_loader")
        for warning in settings.STARTUP_WARNINGS:
            logging.getLogger("conduit.settings").warning(warning)
