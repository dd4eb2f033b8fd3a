"""Views: a thin viewset per resource, routed by resources/urls.py. Each validates its request
template, calls a service or a queryset, and answers with a response template. Authentication,
permissions, errors and rate limits are project-wide; paging is set on the viewsets that page."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from resources import services
from resources.authentication import is_remembered, token_issue
from resources.conditional import if_match_check
from resources.idempotency import IdempotentPostMixin
from resources.listing import ArticleListing
from resources.models import (
    ROW_ID_PATTERN,
    SLUG_PATTERN,
    USERNAME_PATTERN,
    Article,
    Comment,
    Tag,
    User,
)
from resources.pagination import ArticlePagination
from resources.permissions import IsAuthorOrReadOnly
from resources.rows import ArticleRow, written_article_row
from resources.search import SEARCH_MAX_LENGTH
from resources.throttling import (
    LoginAccountThrottle,
    LoginIPThrottle,
    RateLimitHeadersMixin,
    RegistrationAccountThrottle,
    RegistrationIPThrottle,
)
from serializers_templates.articles import (
    SEARCH_HELP,
    ArticleListItemSerializer,
    ArticleListQuerySerializer,
    NewArticleRequestSerializer,
    OwnArticlesQuerySerializer,
    PageQuerySerializer,
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

ARTICLE_NOT_FOUND = "Article not found."
COMMENT_NOT_FOUND = "Comment not found."
PROFILE_NOT_FOUND = "Profile not found."

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
# The search parameter again, for its examples (the query template declares the rest).
SEARCH_PARAMETER = OpenApiParameter(
    "search",
    {"type": "string", "maxLength": SEARCH_MAX_LENGTH},
    OpenApiParameter.QUERY,
    description=SEARCH_HELP,
    examples=[
        OpenApiExample("Every word", value="dragon training"),
        OpenApiExample("A phrase without a word", value='"how to train" -dragon'),
        OpenApiExample("Either", value="python or rust"),
    ],
)
NEW_ARTICLE_EXAMPLES = [
    OpenApiExample(
        "Published at once",
        value={
            "article": {
                "title": "How to train your dragon",
                "description": "Ever wonder how?",
                "body": "You have to *believe*.",
                "tagList": ["dragons", "training"],
            }
        },
        request_only=True,
    ),
    OpenApiExample(
        "A draft, for the author's eyes only",
        value={
            "article": {
                "title": "Work in progress",
                "description": "Not yet",
                "body": "Notes.",
                "status": "draft",
            }
        },
        request_only=True,
    ),
]
UPDATE_ARTICLE_EXAMPLES = [
    OpenApiExample(
        "Publish a draft", value={"article": {"status": "published"}}, request_only=True
    ),
    OpenApiExample(
        "Take it back to draft", value={"article": {"status": "draft"}}, request_only=True
    ),
    OpenApiExample(
        "A new title (and slug)",
        value={"article": {"title": "Did you train your dragon?"}},
        request_only=True,
    ),
]
COMMENT_ID_PARAMETER = OpenApiParameter(
    "id",
    # Mirrors ROW_ID_PATTERN: at most 18 digits.
    {"type": "integer", "format": "int64", "minimum": 0, "maximum": 10**18 - 1},
    OpenApiParameter.PATH,
    description="ID of the comment.",
)


def signed_in(request: Request) -> User:
    """The request's user, in a view whose permissions already require one."""
    return cast(User, request.user)


def validated(template: type[Serializer], data: Any, envelope: str) -> dict[str, Any]:
    """The validated content of a request envelope such as `{"user": {...}}`."""
    serializer = template(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data[envelope]


# Validating a query costs more than a page's rows take to convert (the template's fields are
# copied for every instance), and lists are asked with the same few query strings over and over;
# validation is a pure function of the string, so each process remembers the valid ones it saw.
QUERIES_REMEMBERED = 256
QUERY_REMEMBERED_MAX_LENGTH = 256
_valid_queries: dict[tuple[type[Serializer], str], dict[str, Any]] = {}


def validated_query(template: type[Serializer], request: Request) -> dict[str, Any]:
    """The request's query parameters, validated by a query template."""
    query_string = request.META.get("QUERY_STRING", "")
    key = (template, query_string)
    known = _valid_queries.get(key)
    if known is None:
        serializer = template(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        known = dict(serializer.validated_data)
        if len(query_string) <= QUERY_REMEMBERED_MAX_LENGTH:
            if len(_valid_queries) >= QUERIES_REMEMBERED:
                _valid_queries.clear()
            _valid_queries[key] = known
    return dict(known)


def get_article(viewer: Any, slug: str, *, fields: tuple[str, ...] = ()) -> Article:
    """The article `viewer` reaches at this slug (reading only `fields`, where given), or a 404:
    a draft is its author's alone, and does not exist for anyone else."""
    articles = Article.objects.only(*fields) if fields else Article.objects.all()
    article = articles.with_slug(viewer, slug).first()
    if article is None:
        raise NotFound(ARTICLE_NOT_FOUND)
    return article


def get_article_row(viewer: Any, *, slug: str | None = None, pk: int | None = None) -> ArticleRow:
    """The article as `viewer` reads it, in the API's shape, or a 404."""
    row = Article.objects.row(viewer, slug=slug, pk=pk)
    if row is None:
        raise NotFound(ARTICLE_NOT_FOUND)
    return row


# The base of every viewset: an object lookup that finds nothing answers 404 with "<Resource> not
# found.", the same words for every resource. (Viewsets carry comments, not docstrings:
# drf-spectacular would show a docstring as the description of every operation.)
class ConduitViewSet(IdempotentPostMixin, RateLimitHeadersMixin, viewsets.GenericViewSet):
    not_found = "Not found."

    def get_object(self) -> Any:
        try:
            return super().get_object()
        except Http404:
            raise NotFound(self.not_found) from None


# --- Users and authentication -----------------------------------------------------------------


def user_data(user: User, token: str) -> Any:
    user.token = token  # type: ignore[attr-defined]
    return UserResponseSerializer({"user": user}).data


def user_response(user: User, token: str, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(user_data(user, token), status=status_code)


# Registration (`POST /users`) and login (`POST /users/login`): no token needed.
class UserViewSet(ConduitViewSet):
    permission_classes = [AllowAny]
    throttle_classes = [RegistrationIPThrottle, RegistrationAccountThrottle]

    @extend_schema(
        operation_id="CreateUser",
        tags=["User and Authentication"],
        summary="Register a new user",
        auth=[],
        request=NewUserRequestSerializer,
        responses={201: UserResponseSerializer},
    )
    def create(self, request: Request) -> Response:
        data = validated(NewUserRequestSerializer, request.data, "user")
        user = services.user_create(**data)
        return user_response(user, token_issue(user=user), status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="Login",
        tags=["User and Authentication"],
        summary="Existing user login",
        auth=[],
        request=LoginUserRequestSerializer,
        responses={200: UserResponseSerializer},
    )
    # Checked before the password is hashed, so a flood costs no Argon2 time.
    @action(
        detail=False,
        methods=["post"],
        url_path="login",
        throttle_classes=[LoginIPThrottle, LoginAccountThrottle],
    )
    def login(self, request: Request) -> Response:
        data = validated(LoginUserRequestSerializer, request.data, "user")
        user = services.user_authenticate(**data)
        return user_response(user, token_issue(user=user))


# The signed-in user, at `/user`: a singleton resource (see resources/urls.py).
class CurrentUserViewSet(ConduitViewSet):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="GetCurrentUser",
        tags=["User and Authentication"],
        summary="Get current user",
        responses={200: UserResponseSerializer},
    )
    def retrieve(self, request: Request) -> Response:
        user = signed_in(request)
        if is_remembered(user):
            # The user's own columns, as they are now: the copy may be a few seconds old.
            fresh = User.objects.active(user.pk)
            if fresh is None:
                raise AuthenticationFailed("Invalid token.")
            user = fresh
        return user_response(user, str(request.auth))

    @extend_schema(
        operation_id="UpdateCurrentUser",
        tags=["User and Authentication"],
        summary="Update current user",
        description="Partial update: only the fields given change. A new password is hashed, "
        "and the response carries a new token (tokens issued before it stop working).",
        request=UpdateUserRequestSerializer,
        responses={200: UserResponseSerializer},
    )
    def update(self, request: Request) -> Response:
        data = validated(UpdateUserRequestSerializer, request.data, "user")
        # The ETag of GET /user is that of the body with the request's own token in it.
        precondition = if_match_check(request, lambda row: user_data(row, str(request.auth)))
        user = services.user_update(
            user=signed_in(request), fields=frozenset(data), precondition=precondition, **data
        )
        return user_response(user, token_issue(user=user))

    @extend_schema(
        operation_id="GetCurrentUserArticles",
        tags=["Articles"],
        summary="Get your own articles",
        description="Drafts included, most recently updated first.",
        parameters=[OwnArticlesQuerySerializer],
        responses={200: ArticleListItemSerializer(many=True)},
    )
    @action(detail=True, pagination_class=ArticlePagination)
    def articles(self, request: Request) -> Response:
        query = validated_query(OwnArticlesQuerySerializer, request)
        return page_response(self, ArticleListing(signed_in(request), own=True, **query))


# --- Profiles ---------------------------------------------------------------------------------


# Profiles at `/profiles/{username}` (any letter case), and following them.
@extend_schema(parameters=[USERNAME_PARAMETER])
class ProfileViewSet(ConduitViewSet):
    lookup_field = "username"
    lookup_value_regex = USERNAME_PATTERN
    not_found = PROFILE_NOT_FOUND
    permission_classes = [AllowAny]
    throttle_scope = "follow"

    def get_object(self) -> User:
        user = User.objects.with_username(self.kwargs["username"]).first()
        if user is None:
            raise NotFound(self.not_found)
        return user

    def profile_response(self) -> Response:
        profiles = User.objects.with_viewer(self.request.user)
        profile = profiles.with_username(self.kwargs["username"]).first()
        if profile is None:
            raise NotFound(self.not_found)
        return Response(ProfileResponseSerializer({"profile": profile}).data)

    @extend_schema(
        operation_id="GetProfileByUsername",
        tags=["Profile"],
        summary="Get a profile",
        responses={200: ProfileResponseSerializer},
    )
    def retrieve(self, request: Request, username: str) -> Response:
        return self.profile_response()

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
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def follow(self, request: Request, username: str) -> Response:
        services.user_follow(follower=signed_in(request), followee=self.get_object())
        return self.profile_response()

    @extend_schema(
        operation_id="UnfollowUserByUsername",
        tags=["Profile"],
        summary="Unfollow a user",
        description="Idempotent: unfollowing someone you do not follow changes nothing.",
        responses={200: ProfileResponseSerializer},
    )
    @follow.mapping.delete
    def unfollow(self, request: Request, username: str) -> Response:
        services.user_unfollow(follower=signed_in(request), followee=self.get_object())
        return self.profile_response()


# --- Articles ---------------------------------------------------------------------------------


def page_response(view: viewsets.GenericViewSet, listing: ArticleListing) -> Response:
    """A page of articles in the list envelope of the view's paginator."""
    page = view.paginate_queryset(listing)  # type: ignore[arg-type]
    return view.get_paginated_response(ArticleListItemSerializer(page, many=True).data)


def article_data(viewer: Any, pk: int) -> Any:
    """The article as the viewer reads it, in its response envelope."""
    return SingleArticleResponseSerializer({"article": get_article_row(viewer, pk=pk)}).data


def article_response(viewer: Any, pk: int, status_code: int = status.HTTP_200_OK) -> Response:
    """Re-reads the article as the viewer reads it, so a write answers with the same favorited,
    favoritesCount and author.following as a read would (and 404 when a concurrent request
    deleted the article since this one wrote it)."""
    return Response(article_data(viewer, pk), status=status_code)


def article_if_match(request: Request) -> services.Precondition | None:
    """The If-Match check of a write to an article: against the ETag of GET /articles/{slug}
    by this reader, as it reads under the write's row lock."""
    return if_match_check(request, lambda row: article_data(request.user, row.pk))


# Articles at `/articles` and `/articles/{slug}`, the reader's feed, and favorites.
@extend_schema_view(
    list=extend_schema(
        operation_id="GetArticles",
        tags=["Articles"],
        summary="Get recent articles globally",
        description="Newest publication first, or by relevance with `search`. Filters combine. "
        "Auth is optional.",
        parameters=[ArticleListQuerySerializer, SEARCH_PARAMETER],
        responses={200: ArticleListItemSerializer(many=True)},
    ),
    create=extend_schema(
        operation_id="CreateArticle",
        tags=["Articles"],
        summary="Create an article",
        description="Published at once, unless `status` is `draft`.",
        request=NewArticleRequestSerializer,
        examples=NEW_ARTICLE_EXAMPLES,
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
        description="Partial update, by the author only. A new title gives a new slug. "
        "`status` publishes a draft (the first publication sets `publishedAt`) or takes an article "
        "back to draft.",
        request=UpdateArticleRequestSerializer,
        examples=UPDATE_ARTICLE_EXAMPLES,
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
        parameters=[PageQuerySerializer],
        responses={200: ArticleListItemSerializer(many=True)},
    ),
)
class ArticleViewSet(ConduitViewSet):
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    not_found = ARTICLE_NOT_FOUND
    pagination_class = ArticlePagination
    throttle_scope = "article_write"
    permission_classes = [IsAuthenticatedOrReadOnly, IsAuthorOrReadOnly]

    def get_object(self) -> Article:
        # Writes check ownership on the bare row (a favorite needs only its id); the response
        # re-reads it in the API's shape.
        fields = ("pk",) if self.action in ("favorite", "unfavorite") else ()
        article = get_article(self.request.user, self.kwargs["slug"], fields=fields)
        self.check_object_permissions(self.request, article)
        return article

    def list(self, request: Request) -> Response:
        query = validated_query(ArticleListQuerySerializer, request)
        return page_response(self, ArticleListing(request.user, **query))

    @action(detail=False, permission_classes=[IsAuthenticated])
    def feed(self, request: Request) -> Response:
        query = validated_query(PageQuerySerializer, request)
        return page_response(self, ArticleListing(signed_in(request), feed=True, **query))

    def create(self, request: Request) -> Response:
        data = validated(NewArticleRequestSerializer, request.data, "article")
        article = services.article_create(author=signed_in(request), **data)
        # Answered from the row just written rather than read back: nothing else can have
        # favorited it yet (see written_article_row).
        row = written_article_row(article, tag_names=data.get("tag_names") or [])
        return Response(
            SingleArticleResponseSerializer({"article": row}).data, status=status.HTTP_201_CREATED
        )

    def retrieve(self, request: Request, slug: str) -> Response:
        article = get_article_row(request.user, slug=slug)
        return Response(SingleArticleResponseSerializer({"article": article}).data)

    def update(self, request: Request, slug: str) -> Response:
        article = self.get_object()
        data = validated(UpdateArticleRequestSerializer, request.data, "article")
        services.article_update(article=article, precondition=article_if_match(request), **data)
        return article_response(request.user, article.pk)

    def destroy(self, request: Request, slug: str) -> Response:
        article = self.get_object()
        services.article_delete(article=article, precondition=article_if_match(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="CreateArticleFavorite",
        tags=["Favorites"],
        summary="Favorite an article",
        description="Idempotent: favoriting twice counts once.",
        parameters=[SLUG_PARAMETER],
        request=None,
        responses={200: SingleArticleResponseSerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[IsAuthenticated],
        throttle_scope="favorite",
    )
    def favorite(self, request: Request, slug: str) -> Response:
        article = self.get_object()
        services.article_favorite(user=signed_in(request), article=article)
        return article_response(request.user, article.pk)

    @extend_schema(
        operation_id="DeleteArticleFavorite",
        tags=["Favorites"],
        summary="Unfavorite an article",
        description="Idempotent: unfavoriting an article you have not favorited changes nothing.",
        parameters=[SLUG_PARAMETER],
        responses={200: SingleArticleResponseSerializer},
    )
    @favorite.mapping.delete
    def unfavorite(self, request: Request, slug: str) -> Response:
        article = self.get_object()
        services.article_unfavorite(user=signed_in(request), article=article)
        return article_response(request.user, article.pk)


# --- Comments ---------------------------------------------------------------------------------


# Comments under `/articles/{slug}/comments`; a comment id is looked up only among its article's
# comments, so an id from another article is a 404.
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
class CommentViewSet(ConduitViewSet):
    lookup_field = "id"
    lookup_value_regex = ROW_ID_PATTERN
    not_found = COMMENT_NOT_FOUND
    throttle_scope = "comment_write"
    permission_classes = [IsAuthenticatedOrReadOnly, IsAuthorOrReadOnly]

    def get_queryset(self) -> Any:
        return Comment.objects.filter(article__slug=self.kwargs["slug"])

    def get_object(self) -> Comment:
        try:
            return super().get_object()
        except NotFound:
            # Say which of the two is missing; costs a statement on this path only.
            get_article(self.request.user, self.kwargs["slug"], fields=("pk",))
            raise

    def list(self, request: Request, slug: str) -> Response:
        article = get_article(request.user, slug, fields=("pk",))
        comments = Comment.objects.with_viewer(request.user).filter(article=article)
        return Response(MultipleCommentsResponseSerializer({"comments": comments}).data)

    def create(self, request: Request, slug: str) -> Response:
        article = get_article(request.user, slug, fields=("pk",))
        data = validated(NewCommentRequestSerializer, request.data, "comment")
        comment = services.comment_create(author=signed_in(request), article=article, **data)
        # Answered from the row just written, not read back: the article (and the comment with
        # it) may be deleted in between. Its author is the reader, who cannot follow themselves.
        author: Any = comment.author
        author.following = False
        return Response(SingleCommentResponseSerializer({"comment": comment}).data)

    def destroy(self, request: Request, slug: str, id: str) -> Response:
        services.comment_delete(comment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Tags -------------------------------------------------------------------------------------


# The tags in use, at `/tags`.
class TagViewSet(ConduitViewSet):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="GetTags",
        tags=["Tags"],
        summary="Get tags",
        responses={200: TagsResponseSerializer},
    )
    def list(self, request: Request) -> Response:
        return Response(TagsResponseSerializer({"tags": Tag.objects.popular_names()}).data)
