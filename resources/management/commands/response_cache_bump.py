"""Makes every entry of the shared response cache stale, after writes made past the API (a
shell, a script, seed_demo): the API's own writes do it themselves."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from resources import response_cache


class Command(BaseCommand):
    help = "Makes every answer in the shared response cache stale (after writes past the API)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not response_cache.bump_version():
            raise CommandError("The cache is unreachable: its entries could not be made stale.")
        self.stdout.write("Every cached answer is stale now.")
