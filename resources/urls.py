"""Every API route, mounted under /api/. No trailing slashes, as the RealWorld spec names them."""

from django.urls import path, register_converter
from rest_framework.routers import SimpleRouter

from resources import views
from resources.converters import RowIdConverter, UsernameConverter

register_converter(UsernameConverter, "username")
register_converter(RowIdConverter, "row_id")

router = SimpleRouter(trailing_slash=False)
# /articles, /articles/feed, /articles/{slug}
router.register("articles", views.ArticleViewSet, basename="article")

article_comments = views.ArticleCommentViewSet.as_view({"get": "list", "post": "create"})
article_comment = views.ArticleCommentViewSet.as_view({"delete": "destroy"})

urlpatterns = [
    path("users", views.UserRegistrationView.as_view(), name="user-register"),
    path("users/login", views.UserLoginView.as_view(), name="user-login"),
    path("user", views.CurrentUserView.as_view(), name="user-current"),
    path("profiles/<username:username>", views.ProfileView.as_view(), name="profile"),
    path(
        "profiles/<username:username>/follow",
        views.ProfileFollowView.as_view(),
        name="profile-follow",
    ),
    *router.urls,
    path(
        "articles/<slug:slug>/favorite",
        views.ArticleFavoriteView.as_view(),
        name="article-favorite",
    ),
    path("articles/<slug:slug>/comments", article_comments, name="article-comments"),
    path("articles/<slug:slug>/comments/<row_id:id>", article_comment, name="article-comment"),
    path("tags", views.TagListView.as_view(), name="tags"),
]
