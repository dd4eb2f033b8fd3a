"""The API's router: DRF's SimpleRouter, and the one shape RealWorld adds to it."""

from __future__ import annotations

from typing import Any

from rest_framework.routers import Route, SimpleRouter


class ConduitRouter(SimpleRouter):
    """SimpleRouter without trailing slashes, plus singleton resources: a resource of which
    there is one per reader, such as the signed-in user at `/user`, with no id in its path. A
    singleton's viewset answers `retrieve`, `update`, `partial_update` and `destroy` as a
    detail route would."""

    singleton_routes = [
        Route(
            url=r"^{prefix}{trailing_slash}$",
            mapping={
                "get": "retrieve",
                "put": "update",
                "patch": "partial_update",
                "delete": "destroy",
            },
            name="{basename}",
            detail=True,
            initkwargs={"suffix": "Instance"},
        )
    ]

    def __init__(self) -> None:
        super().__init__(trailing_slash=False)
        self._singletons: set[type] = set()

    def register_singleton(self, prefix: str, viewset: type, basename: str) -> None:
        self._singletons.add(viewset)
        self.register(prefix, viewset, basename)

    def get_routes(self, viewset: Any) -> list:
        if viewset in self._singletons:
            return list(self.singleton_routes)
        return super().get_routes(viewset)
