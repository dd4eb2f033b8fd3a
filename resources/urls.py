"""Every API route, mounted under /api/: one router, one registration per resource. No trailing
slashes, as the RealWorld spec names them."""

from resources import views
from resources.models import SLUG_PATTERN
from resources.routers import ConduitRouter

router = ConduitRouter()
# POST /users, POST /users/login
router.register("users", views.UserViewSet, basename="user")
# GET, PUT /user, GET /user/articles (the reader's own, drafts included)
router.register_singleton("user", views.CurrentUserViewSet, basename="current-user")
# GET /profiles/{username}, POST and DELETE /profiles/{username}/follow
router.register("profiles", views.ProfileViewSet, basename="profile")
# GET, POST /articles, GET /articles/feed, GET, PUT, DELETE /articles/{slug},
# POST and DELETE /articles/{slug}/favorite
router.register("articles", views.ArticleViewSet, basename="article")
# GET, POST /articles/{slug}/comments, DELETE /articles/{slug}/comments/{id}
router.register(
    rf"articles/(?P<slug>{SLUG_PATTERN})/comments", views.CommentViewSet, basename="comment"
)
# GET /tags
router.register("tags", views.TagViewSet, basename="tag")

urlpatterns = router.urls
