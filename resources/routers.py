"""The API's router: DRF's SimpleRouter, and the one shape RealWorld adds to it."""

from __future__ import annotations

from typing import Any

from rest_framework.routers import DynamicRoute, Route, SimpleRouter


class ConduitRouter(SimpleRouter):
    """SimpleRouter without trailing slashes, plus singleton resources: a resource of which
    there is one per reader, such as the signed-in user at `/user`, with no id in its path. A
    singleton's viewset answers `retrieve`, `update`, `partial_update` and `destroy` as a
    detail route would, and its detail @actions hang below it (`/user/articles`)."""

    singleton_route = Route(
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
    singleton_action_route = DynamicRoute(
        url=r"^{prefix}/{url_path}{trailing_slash}$",
        name="{basename}-{url_name}",
        detail=True,
        initkwargs={},
    )

    def __init__(self) -> None:
        super().__init__(trailing_slash=False)
        self._singletons: set[type] = set()

    def register_singleton(self, prefix: str, viewset: type, basename: str) -> None:
        self._singletons.add(viewset)
        self.register(prefix, viewset, basename)

    def get_routes(self, viewset: Any) -> list:
        if viewset in self._singletons:
            actions = [a for a in viewset.get_extra_actions() if a.detail]
            return [
                self.singleton_route,
                *(self._get_dynamic_route(self.singleton_action_route, a) for a in actions),
            ]
        return super().get_routes(viewset)
