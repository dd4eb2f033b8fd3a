"""The article shapes: the full article, the list item (no body), and create/update requests."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from resources.cursors import CURSOR_MAX_LENGTH, InvalidCursor, Order, decode
from resources.models import (
    BODY_MAX_LENGTH,
    DESCRIPTION_MAX_LENGTH,
    TAG_MAX_LENGTH,
    TAGS_PER_ARTICLE,
    TITLE_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
    Article,
    ArticleStatus,
)
from resources.search import SEARCH_MAX_LENGTH
from serializers_templates.base import ResponseModelSerializer, ResponseSerializer
from serializers_templates.fields import (
    QueryChoiceField,
    QueryIntegerField,
    QueryStringField,
    StringField,
    TimestampField,
)
from serializers_templates.profiles import ProfileSerializer


class ArticleSerializer(ResponseModelSerializer):
    tagList = serializers.ListField(
        source="tag_names",
        child=serializers.CharField(),
        read_only=True,
        help_text="Tag names in alphabetical order.",
    )
    bodyHtml = serializers.CharField(
        source="body_html",
        read_only=True,
        help_text="The body's Markdown as HTML (CommonMark, tables, strikethrough, autolinks, "
        "fenced code), rendered when it was written and sanitized: safe to insert as it is.",
    )
    readingTimeMinutes = serializers.IntegerField(
        source="reading_time_minutes",
        read_only=True,
        min_value=1,
        help_text="Minutes to read the body, at 265 words a minute.",
    )
    status = serializers.ChoiceField(
        choices=ArticleStatus.choices,
        read_only=True,
        help_text="A draft is visible to its author only.",
    )
    createdAt = TimestampField(source="created_at", read_only=True)
    updatedAt = TimestampField(source="updated_at", read_only=True)
    publishedAt = TimestampField(
        source="published_at",
        read_only=True,
        allow_null=True,
        help_text="When it was first published (kept if it is unpublished and published "
        "again); null while it has never been.",
    )
    favorited = serializers.BooleanField(read_only=True)
    favoritesCount = serializers.IntegerField(source="favorites_count", read_only=True, min_value=0)
    author = ProfileSerializer(read_only=True)

    class Meta:
        model = Article
        fields = [
            "slug",
            "title",
            "description",
            "body",
            "bodyHtml",
            "readingTimeMinutes",
            "tagList",
            "status",
            "createdAt",
            "updatedAt",
            "publishedAt",
            "favorited",
            "favoritesCount",
            "author",
        ]
        read_only_fields = fields


class ArticleListItemSerializer(ArticleSerializer):
    """An article in a list: everything but the body and its HTML."""

    class Meta(ArticleSerializer.Meta):
        fields = [n for n in ArticleSerializer.Meta.fields if n not in ("body", "bodyHtml")]
        read_only_fields = fields


@extend_schema_field(
    {
        "type": "array",
        "maxItems": TAGS_PER_ARTICLE,
        "items": {"type": "string", "maxLength": TAG_MAX_LENGTH},
        "description": f"At most {TAGS_PER_ARTICLE} tags of at most {TAG_MAX_LENGTH} characters. "
        "Tags are trimmed; empty ones are dropped and duplicates merged.",
    }
)
class TagListField(serializers.Field):
    default_error_messages = {
        "not_a_list": "Expected a list of tag names.",
        "not_a_string": "Each tag must be a string.",
        "too_long": f"Each tag must have at most {TAG_MAX_LENGTH} characters.",
        "too_many": f"An article has at most {TAGS_PER_ARTICLE} tags.",
        "null_characters": "Null characters are not allowed.",
        "surrogates": "Surrogate characters are not allowed.",
    }

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, list):
            self.fail("not_a_list")
        if len(data) > TAGS_PER_ARTICLE:
            self.fail("too_many")
        names: list[str] = []
        for item in data:
            if not isinstance(item, str):
                self.fail("not_a_string")
            if len(item) > TAG_MAX_LENGTH:
                self.fail("too_long")
            if "\x00" in item:
                self.fail("null_characters")
            if any("\ud800" <= char <= "\udfff" for char in item):
                self.fail("surrogates")
            name = item.strip()
            if name and name not in names:
                names.append(name)
        return names

    def to_representation(self, value: list[str]) -> list[str]:
        return value


STATUS_HELP = "`draft` keeps it to its author; `published` (the default) shows it to everyone."


class NewArticleSerializer(serializers.Serializer):
    title = StringField(max_length=TITLE_MAX_LENGTH)
    description = StringField(max_length=DESCRIPTION_MAX_LENGTH)
    body = StringField(max_length=BODY_MAX_LENGTH)
    tagList = TagListField(required=False, source="tag_names")
    status = serializers.ChoiceField(
        choices=ArticleStatus.choices, required=False, help_text=STATUS_HELP
    )


class UpdateArticleSerializer(serializers.Serializer):
    """Every field is optional; a given tagList replaces the article's tags."""

    title = StringField(max_length=TITLE_MAX_LENGTH, required=False)
    description = StringField(max_length=DESCRIPTION_MAX_LENGTH, required=False)
    body = StringField(max_length=BODY_MAX_LENGTH, required=False)
    tagList = TagListField(required=False, source="tag_names")
    status = serializers.ChoiceField(
        choices=ArticleStatus.choices,
        required=False,
        help_text="Publish a draft, or take an article back to draft.",
    )


class SingleArticleResponseSerializer(ResponseSerializer):
    article = ArticleSerializer(read_only=True)


class NewArticleRequestSerializer(serializers.Serializer):
    article = NewArticleSerializer()


class UpdateArticleRequestSerializer(serializers.Serializer):
    article = UpdateArticleSerializer()


ONE_VALUE = "Give this parameter once."
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Deeper than any real list; keeps OFFSET within what every database accepts.
MAX_OFFSET = 2_147_483_647


class QuerySerializer(serializers.Serializer):
    """Query parameters: each given at most once (?tag=a&tag=b is refused rather than one of
    them picked)."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        repeated: dict[str, Any] = {
            name: [ONE_VALUE]
            for name in data
            if name in self.fields and hasattr(data, "getlist") and len(data.getlist(name)) > 1
        }
        if repeated:
            raise serializers.ValidationError(repeated)
        return super().to_internal_value(data)


class PageQuerySerializer(QuerySerializer):
    """The page of a list: a non-integer, a limit below 1 or a negative offset is a 422; a limit
    above the maximum is clamped to it. A page starts at an offset or after a cursor, not both."""

    # The order of the list, which its cursors hold.
    cursor_order: Order = "published"

    limit = QueryIntegerField(
        required=False,
        min_value=1,
        default=DEFAULT_LIMIT,
        help_text=f"The number of articles to return; values above {MAX_LIMIT} are treated as "
        f"{MAX_LIMIT}.",
    )
    offset = QueryIntegerField(
        required=False,
        min_value=0,
        max_value=MAX_OFFSET,
        default=0,
        help_text="The number of articles to skip before starting to collect the result set.",
    )

    cursor = QueryStringField(
        required=False,
        max_length=CURSOR_MAX_LENGTH,
        help_text="Where the page starts: the `nextCursor` of the previous page (opaque). "
        "Articles published meanwhile neither shift nor repeat the pages after it. Instead of "
        "`offset` (which may only be 0 with it).",
    )

    def validate_limit(self, value: int) -> int:
        return min(value, MAX_LIMIT)

    def validate_cursor(self, value: str) -> Any:
        try:
            return decode(value, self.cursor_order)
        except InvalidCursor as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # An offset of 0 skips nothing, and clients generated from the schema send it (its
        # default) with every request; any other offset contradicts the cursor.
        if "cursor" in attrs and attrs.get("offset"):
            raise serializers.ValidationError({"cursor": ["Give cursor or offset, not both."]})
        return attrs


SEARCH_HELP = (
    "Full-text search of titles, descriptions, bodies and tag names, as a search box takes it: "
    'words (all must match), "quoted phrases", -excluded words and `or`. English stemming '
    "(dragons finds dragon), accents ignored. Ordered by relevance (a title match first, then a "
    "description or tag match, then a body match), then newest."
)


class ArticleListQuerySerializer(PageQuerySerializer):
    """Filters of the article list and its page; filters combine, and an empty one filters
    nothing."""

    tag = StringField(
        required=False, allow_blank=True, max_length=TAG_MAX_LENGTH, help_text="Filter by tag."
    )
    author = StringField(
        required=False,
        allow_blank=True,
        max_length=USERNAME_MAX_LENGTH,
        help_text="Filter by author (username).",
    )
    favorited = StringField(
        required=False,
        allow_blank=True,
        max_length=USERNAME_MAX_LENGTH,
        help_text="Filter by favorites of a user (username).",
    )
    search = StringField(
        required=False, allow_blank=True, max_length=SEARCH_MAX_LENGTH, help_text=SEARCH_HELP
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if "cursor" in attrs and attrs.get("search"):
            raise serializers.ValidationError(
                {"cursor": ["A search is ordered by relevance and pages by offset only."]}
            )
        return attrs


# The reader's own articles: all of them, or those of one status.
OWN_ARTICLE_STATUSES = ["all", *ArticleStatus.values]


class OwnArticlesQuerySerializer(PageQuerySerializer):
    """The reader's own articles, drafts included, and their page."""

    cursor_order: Order = "updated"

    status = QueryChoiceField(
        choices=OWN_ARTICLE_STATUSES,
        required=False,
        default="all",
        help_text="`draft`, `published`, or `all` of them.",
    )

    def validate_status(self, value: str) -> str:
        # The listing takes "" for every status.
        return "" if value == "all" else value
