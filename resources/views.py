"""Views: thin. Each validates its request template, calls a service or a queryset, and answers
with a response template. Authentication, permissions, errors and paging are project-wide."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from resources import services
from resources.authentication import token_issue
from resources.models import Article, Comment, Tag, User
from resources.permissions import IsAuthorOrReadOnly
from resources.querysets import ArticleListing, article_shaped
from resources.throttling import (
    LoginAccountThrottle,
    LoginIPThrottle,
    RegistrationAccountThrottle,
    RegistrationIPThrottle,
)
from serializers_templates.articles import (
    ArticleListItemSerializer,
    ArticleListQuerySerializer,
    NewArticleRequestSerializer,
    SingleArticleResponseSerializer,
    UpdateArticleRequestSerializer,
)
from serializers_templates.comments import (
    MultipleCommentsResponseSerializer,
    NewCommentRequestSerializer,
    SingleCommentResponseSerializer,
)
from serializers_templates.errors import GenericErrorModelSerializer
from serializers_templates.profiles import ProfileResponseSerializer
from serializers_templates.tags import TagsResponseSerializer
from serializers_templates.users import (
    LoginUserRequestSerializer,
    NewUserRequestSerializer,
    UpdateUserRequestSerializer,
    UserResponseSerializer,
)

SLUG_PATTERN = r"[-a-zA-Z0-9_]+"

# The API docs pages load everything from this server (drf-spectacular-sidecar assets); this
# policy makes the browser refuse anything else, such as the image ReDoc's footer links to.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'"
)


def offline_docs(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def docs_page(request: Any, *args: Any, **kwargs: Any) -> Any:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response

    return docs_page


SLUG_PARAMETER = OpenApiParameter(
    "slug",
    str,
    OpenApiParameter.PATH,
    description="Slug of the article.",
    pattern=f"^{SLUG_PATTERN}$",
    examples=[OpenApiExample("An article", value="how-to-train-your-dragon")],
)
USERNAME_PARAMETER = OpenApiParameter(
    "username",
    str,
    OpenApiParameter.PATH,
    description="Username of the profile (letters of any script, digits, `.`, `_` and `-`); "
    "letter case does not matter.",
    examples=[OpenApiExample("A user", value="jake")],
)
COMMENT_ID_PARAMETER = OpenApiParameter(
    "id",
    # Mirrors resources.converters.RowIdConverter: at most 18 digits.
    {"type": "integer", "format": "int64", "minimum": 0, "maximum": 10**18 - 1},
    OpenApiParameter.PATH,
    description="ID of the comment.",
)


ARTICLE_NOT_FOUND = "Article not found."


def article_or_404(queryset: Any, slug: str) -> Article:
    article = queryset.filter(slug=slug).first()
    if article is None:
        raise NotFound(ARTICLE_NOT_FOUND)
    return cast(Article, article)


def article_shaped_or_404(viewer: Any, *, slug: str | None = None, pk: int | None = None) -> Any:
    article = article_shaped(viewer, slug=slug, pk=pk)
    if article is None:
        raise NotFound(ARTICLE_NOT_FOUND)
    return article


def signed_in(request: Request) -> User:
    """The request's user, in a view whose permissions already require one."""
    return cast(User, request.user)


def validated(template: type[Serializer], data: Any, envelope: str) -> dict[str, Any]:
    """The validated content of a request envelope such as `{"user": {...}}`."""
    serializer = template(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data[envelope]


# --- Users and authentication -----------------------------------------------------------------


def user_response(user: User, token: str, status_code: int = status.HTTP_200_OK) -> Response:
    user.token = token  # type: ignore[attr-defined]
    return Response(UserResponseSerializer({"user": user}).data, status=status_code)


class UserRegistrationView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [RegistrationIPThrottle, RegistrationAccountThrottle]

    @extend_schema(
        operation_id="CreateUser",
        tags=["User and Authentication"],
        summary="Register a new user",
        request=NewUserRequestSerializer,
        responses={201: UserResponseSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated(NewUserRequestSerializer, request.data, "user")
        user = services.user_create(**data)
        return user_response(user, token_issue(user=user), status.HTTP_201_CREATED)


class UserLoginView(APIView):
    permission_classes = [AllowAny]
    # Checked before the password is hashed, so a flood costs no Argon2 time.
    throttle_classes = [LoginIPThrottle, LoginAccountThrottle]

    @extend_schema(
        operation_id="Login",
        tags=["User and Authentication"],
        summary="Existing user login",
        request=LoginUserRequestSerializer,
        responses={200: UserResponseSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated(LoginUserRequestSerializer, request.data, "user")
        user = services.user_authenticate(**data)
        return user_response(user, token_issue(user=user))


class CurrentUserView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="GetCurrentUser",
        tags=["User and Authentication"],
        summary="Get current user",
        responses={200: UserResponseSerializer},
    )
    def get(self, request: Request) -> Response:
        return user_response(signed_in(request), str(request.auth))

    @extend_schema(
        operation_id="UpdateCurrentUser",
        tags=["User and Authentication"],
        summary="Update current user",
        description="Partial update: only the fields given change. A new password is hashed, "
        "and the response carries a new token (tokens issued before it stop working).",
        request=UpdateUserRequestSerializer,
        responses={200: UserResponseSerializer},
    )
    def put(self, request: Request) -> Response:
        data = validated(UpdateUserRequestSerializer, request.data, "user")
        user = services.user_update(user=signed_in(request), fields=frozenset(data), **data)
        return user_response(user, token_issue(user=user))


# --- Profiles ---------------------------------------------------------------------------------


def profile_response(viewer: Any, username: str) -> Response:
    profile = get_profile(User.objects.with_viewer(viewer), username)
    return Response(ProfileResponseSerializer({"profile": profile}).data)


def get_profile(queryset: Any, username: str) -> User:
    user = queryset.with_username(username).first()
    if user is None:
        raise NotFound("Profile not found.")
    return user


@extend_schema(parameters=[USERNAME_PARAMETER])
class ProfileView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="GetProfileByUsername",
        tags=["Profile"],
        summary="Get a profile",
        responses={200: ProfileResponseSerializer},
    )
    def get(self, request: Request, username: str) -> Response:
        return profile_response(request.user, username)


@extend_schema(parameters=[USERNAME_PARAMETER])
class ProfileFollowView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "follow"

    @extend_schema(
        operation_id="FollowUserByUsername",
        tags=["Profile"],
        summary="Follow a user",
        description="Idempotent: following someone you already follow changes nothing.",
        request=None,
        responses={
            200: ProfileResponseSerializer,
            422: OpenApiResponse(GenericErrorModelSerializer, "You cannot follow yourself."),
        },
    )
    def post(self, request: Request, username: str) -> Response:
        followee = get_profile(User.objects.all(), username)
        services.user_follow(follower=signed_in(request), followee=followee)
        return profile_response(request.user, username)

    @extend_schema(
        operation_id="UnfollowUserByUsername",
        tags=["Profile"],
        summary="Unfollow a user",
        description="Idempotent: unfollowing someone you do not follow changes nothing.",
        responses={200: ProfileResponseSerializer},
    )
    def delete(self, request: Request, username: str) -> Response:
        followee = get_profile(User.objects.all(), username)
        services.user_unfollow(follower=signed_in(request), followee=followee)
        return profile_response(request.user, username)


# --- Articles ---------------------------------------------------------------------------------


def article_response(viewer: Any, pk: int, status_code: int = status.HTTP_200_OK) -> Response:
    """Re-reads the article through the viewer's queryset, so a write answers with the same
    favorited, favoritesCount and author.following as a read would."""
    # A 404 when a concurrent request deleted the article since this one wrote it.
    article = article_shaped_or_404(viewer, pk=pk)
    return Response(SingleArticleResponseSerializer({"article": article}).data, status=status_code)


def article_list_response(view: viewsets.GenericViewSet, listing: ArticleListing) -> Response:
    page = view.paginate_queryset(listing)  # type: ignore[arg-type]
    return view.get_paginated_response(ArticleListItemSerializer(page, many=True).data)


@extend_schema_view(
    list=extend_schema(
        operation_id="GetArticles",
        tags=["Articles"],
        summary="Get recent articles globally",
        description="Newest first. Filters combine. Auth is optional.",
        parameters=[ArticleListQuerySerializer],
        responses={200: ArticleListItemSerializer(many=True)},
    ),
    create=extend_schema(
        operation_id="CreateArticle",
        tags=["Articles"],
        summary="Create an article",
        request=NewArticleRequestSerializer,
        responses={201: SingleArticleResponseSerializer},
    ),
    retrieve=extend_schema(
        operation_id="GetArticle",
        tags=["Articles"],
        summary="Get an article",
        parameters=[SLUG_PARAMETER],
        responses={200: SingleArticleResponseSerializer},
    ),
    update=extend_schema(
        operation_id="UpdateArticle",
        tags=["Articles"],
        summary="Update an article",
        parameters=[SLUG_PARAMETER],
        description="Partial update, by the author only. A new title gives a new slug.",
        request=UpdateArticleRequestSerializer,
        responses={200: SingleArticleResponseSerializer},
    ),
    destroy=extend_schema(
        operation_id="DeleteArticle",
        tags=["Articles"],
        summary="Delete an article",
        parameters=[SLUG_PARAMETER],
        description="By the author only; its comments and favorites go with it.",
        responses={204: None},
    ),
    feed=extend_schema(
        operation_id="GetArticlesFeed",
        tags=["Articles"],
        summary="Get recent articles from users you follow",
        responses={200: ArticleListItemSerializer(many=True)},
    ),
)
class ArticleViewSet(viewsets.GenericViewSet):
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    throttle_scope = "article_write"
    permission_classes = [IsAuthenticatedOrReadOnly, IsAuthorOrReadOnly]

    def get_queryset(self) -> Any:
        # Writes check ownership on the bare row; the response re-reads it in the API's shape.
        return Article.objects.all()

    def get_object(self) -> Article:
        article = article_or_404(self.get_queryset(), self.kwargs["slug"])
        self.check_object_permissions(self.request, article)
        return article

    def list(self, request: Request) -> Response:
        filters = ArticleListQuerySerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return article_list_response(self, ArticleListing(request.user, **filters.validated_data))

    @action(detail=False, url_path="feed", permission_classes=[IsAuthenticated])
    def feed(self, request: Request) -> Response:
        return article_list_response(self, ArticleListing(signed_in(request), feed=True))

    def create(self, request: Request) -> Response:
        data = validated(NewArticleRequestSerializer, request.data, "article")
        article = services.article_create(
            author=signed_in(request),
            title=data["title"],
            description=data["description"],
            body=data["body"],
            tag_names=data.get("tagList"),
        )
        return article_response(request.user, article.pk, status.HTTP_201_CREATED)

    def retrieve(self, request: Request, slug: str) -> Response:
        article = article_shaped_or_404(request.user, slug=slug)
        return Response(SingleArticleResponseSerializer({"article": article}).data)

    def update(self, request: Request, slug: str) -> Response:
        article = self.get_object()
        data = validated(UpdateArticleRequestSerializer, request.data, "article")
        services.article_update(
            article=article,
            title=data.get("title"),
            description=data.get("description"),
            body=data.get("body"),
            tag_names=data.get("tagList"),
        )
        return article_response(request.user, article.pk)

    def destroy(self, request: Request, slug: str) -> Response:
        services.article_delete(article=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(parameters=[SLUG_PARAMETER])
class ArticleFavoriteView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "favorite"

    def get_article(self, slug: str) -> Article:
        return article_or_404(Article.objects.only("pk"), slug)

    @extend_schema(
        operation_id="CreateArticleFavorite",
        tags=["Favorites"],
        summary="Favorite an article",
        description="Idempotent: favoriting twice counts once.",
        request=None,
        responses={200: SingleArticleResponseSerializer},
    )
    def post(self, request: Request, slug: str) -> Response:
        article = self.get_article(slug)
        services.article_favorite(user=signed_in(request), article=article)
        return article_response(request.user, article.pk)

    @extend_schema(
        operation_id="DeleteArticleFavorite",
        tags=["Favorites"],
        summary="Unfavorite an article",
        description="Idempotent: unfavoriting an article you have not favorited changes nothing.",
        responses={200: SingleArticleResponseSerializer},
    )
    def delete(self, request: Request, slug: str) -> Response:
        article = self.get_article(slug)
        services.article_unfavorite(user=signed_in(request), article=article)
        return article_response(request.user, article.pk)


# --- Comments ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        operation_id="GetArticleComments",
        tags=["Comments"],
        summary="Get comments for an article",
        parameters=[SLUG_PARAMETER],
        description="Oldest first. Auth is optional.",
        responses={200: MultipleCommentsResponseSerializer},
    ),
    create=extend_schema(
        operation_id="CreateArticleComment",
        tags=["Comments"],
        summary="Create a comment for an article",
        parameters=[SLUG_PARAMETER],
        request=NewCommentRequestSerializer,
        responses={200: SingleCommentResponseSerializer},
    ),
    destroy=extend_schema(
        operation_id="DeleteArticleComment",
        tags=["Comments"],
        summary="Delete a comment for an article",
        parameters=[SLUG_PARAMETER, COMMENT_ID_PARAMETER],
        description="By the comment's author only.",
        responses={204: None},
    ),
)
class ArticleCommentViewSet(viewsets.GenericViewSet):
    """Comments under `/articles/{slug}/comments`; a comment id is looked up only among its
    article's comments, so an id from another article is a 404."""

    lookup_field = "id"
    pagination_class = None
    throttle_scope = "comment_write"
    permission_classes = [IsAuthenticatedOrReadOnly, IsAuthorOrReadOnly]

    def get_queryset(self) -> Any:
        return Comment.objects.filter(article__slug=self.kwargs["slug"])

    def get_article(self) -> Article:
        return article_or_404(Article.objects.only("pk"), self.kwargs["slug"])

    def list(self, request: Request, slug: str) -> Response:
        article = self.get_article()
        comments = Comment.objects.with_viewer(request.user).filter(article=article)
        return Response(MultipleCommentsResponseSerializer({"comments": comments}).data)

    def create(self, request: Request, slug: str) -> Response:
        article = self.get_article()
        data = validated(NewCommentRequestSerializer, request.data, "comment")
        comment = services.comment_create(
            author=signed_in(request), article=article, body=data["body"]
        )
        # Answered from the row just written, not read back: the article (and the comment with
        # it) may be deleted in between. Its author is the reader, who cannot follow themselves.
        author: Any = comment.author
        author.following = False
        return Response(SingleCommentResponseSerializer({"comment": comment}).data)

    def destroy(self, request: Request, slug: str, id: str) -> Response:
        services.comment_delete(comment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Tags -------------------------------------------------------------------------------------


class TagListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="GetTags",
        tags=["Tags"],
        summary="Get tags",
        responses={200: TagsResponseSerializer},
    )
    def get(self, request: Request) -> Response:
        names = Tag.objects.popular_names()
        return Response(TagsResponseSerializer({"tags": names}).data)
