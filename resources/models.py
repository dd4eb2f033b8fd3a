"""The tables of Conduit API and the invariants the database itself guarantees."""

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator, URLValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from resources.markdown import markdown_render, reading_time_minutes
from resources.querysets import ArticleQuerySet, CommentQuerySet, TagQuerySet, UserQuerySet

USERNAME_MAX_LENGTH = 64
EMAIL_MAX_LENGTH = 254
IMAGE_MAX_LENGTH = 2048
TITLE_MAX_LENGTH = 255
DESCRIPTION_MAX_LENGTH = 1000
BODY_MAX_LENGTH = 100_000
COMMENT_MAX_LENGTH = 10_000
TAG_MAX_LENGTH = 64
TAGS_PER_ARTICLE = 10
SLUG_MAX_LENGTH = 255

# Usernames appear in URLs (/profiles/{username}): ASCII letters and digits, then . _ - too.
# ASCII keeps the pattern the same in every regex dialect a client might check it with.
USERNAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*"
username_validator = RegexValidator(
    rf"^{USERNAME_PATTERN}\Z",
    "Enter a username of letters, digits and . _ - (starting with a letter or digit).",
)
# Slugs are made by slugify(); a path segment outside this pattern never names an article.
SLUG_PATTERN = r"[-a-zA-Z0-9_]+"
# Row ids in paths: up to 18 digits always fits a 64-bit integer column.
ROW_ID_PATTERN = r"[0-9]{1,18}"
image_url_validator = URLValidator(schemes=["http", "https"])


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def create_user(self, username: str, email: str, password: str | None = None, **extra):
        user = self.model(username=username, email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username: str, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(username, email, password, **extra)

    def get_by_natural_key(self, username: str):
        # The admin login types an email; match it the way the unique constraint does.
        return self.get_by_email(username)


class User(AbstractBaseUser, PermissionsMixin):
    username = models.CharField(max_length=USERNAME_MAX_LENGTH, validators=[username_validator])
    email = models.EmailField(max_length=EMAIL_MAX_LENGTH)
    bio = models.TextField(blank=True, default="")
    # No image is null, not "": the contract names null as the absence of an image.
    image = models.URLField(  # noqa: DJ001
        max_length=IMAGE_MAX_LENGTH, null=True, blank=True, validators=[image_url_validator]
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Kept by database triggers (migrations 0002, 0004): the user's published articles; the
    # feed counts its articles from these.
    articles_count = models.IntegerField(default=0, editable=False)
    followees = models.ManyToManyField(
        "self", through="Follow", symmetrical=False, related_name="followers", blank=True
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["username"]

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("username"),
                name="user_username_ci_unique",
                violation_error_message="A user with that username already exists.",
            ),
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_ci_unique",
                violation_error_message="A user with that email already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.username


# Foreign keys that lead a composite index or unique constraint get no index of their own.


class Follow(models.Model):
    follower = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    followee = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="follow_unique_pair"),
            models.CheckConstraint(
                condition=~models.Q(follower=models.F("followee")), name="follow_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} follows {self.followee_id}"


class Tag(models.Model):
    name = models.CharField(max_length=TAG_MAX_LENGTH, unique=True)
    # Kept by database triggers (migrations 0002, 0004): how many published articles carry it.
    articles_count = models.IntegerField(default=0, editable=False)

    objects = TagQuerySet.as_manager()

    class Meta:
        indexes = [
            # GET /tags: the most used first.
            models.Index(models.F("articles_count").desc(), "name", name="tag_popular_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


PUBLISHED = models.Q(status=ArticleStatus.PUBLISHED)


class Article(models.Model):
    # Unique among published articles, and among an author's own: a draft's slug is its
    # author's business, so another author's article may be published under it (see the
    # constraints below, and ArticleQuerySet.visible_to for which one a reader gets).
    slug = models.SlugField(max_length=SLUG_MAX_LENGTH, db_index=False)
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH)
    body = models.TextField(max_length=BODY_MAX_LENGTH)
    # The body's Markdown, rendered and sanitized when it is written (resources/markdown.py),
    # never at read time; and the minutes it takes to read.
    body_html = models.TextField(editable=False, default="")
    reading_time_minutes = models.PositiveIntegerField(editable=False, default=1)
    author = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="articles", db_index=False
    )
    tags = models.ManyToManyField(Tag, through="ArticleTag", related_name="articles", blank=True)
    # A draft is its author's alone; everyone else reads published articles only.
    status = models.CharField(
        max_length=9, choices=ArticleStatus.choices, default=ArticleStatus.PUBLISHED
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Set at the first publication and kept if the article is unpublished and published again;
    # public lists are newest first by it.
    published_at = models.DateTimeField(null=True, blank=True)
    # Kept by database triggers (migration 0002): the article's favorites.
    favorites_count = models.IntegerField(default=0, editable=False)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["slug"], condition=PUBLISHED, name="article_published_slug_unique"
            ),
            # Leads with the slug, so it also serves every lookup by slug.
            models.UniqueConstraint(fields=["slug", "author"], name="article_slug_author_unique"),
            models.CheckConstraint(
                condition=models.Q(status__in=ArticleStatus.values), name="article_status_valid"
            ),
            models.CheckConstraint(
                condition=~PUBLISHED | models.Q(published_at__isnull=False),
                name="article_published_dated",
            ),
        ]
        indexes = [
            # Global list: newest first, id as the tie-break; published articles only.
            models.Index(
                models.F("published_at").desc(),
                models.F("id").desc(),
                condition=PUBLISHED,
                name="article_recent_idx",
            ),
            # Author filter and the feed (articles of a set of authors), newest first.
            models.Index(
                "author",
                models.F("published_at").desc(),
                models.F("id").desc(),
                condition=PUBLISHED,
                name="article_author_recent_idx",
            ),
            # An author's own articles, drafts included, most recently updated first.
            models.Index(
                "author",
                models.F("updated_at").desc(),
                models.F("id").desc(),
                name="article_author_updated_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Saved as published with no date (the admin, fixtures): published when it was created,
        # as migration 0004 dates the articles written before drafts existed.
        if self.status == ArticleStatus.PUBLISHED and self.published_at is None:
            self.published_at = self.created_at
        self.render()
        super().save(*args, **kwargs)

    def render(self) -> None:
        """Renders the body: whatever writes a body (a service, the admin) renders it with it."""
        self.body_html = markdown_render(self.body)
        self.reading_time_minutes = reading_time_minutes(self.body)


class Totals(models.Model):
    """Counts over whole tables, kept exact by database triggers (migrations 0002, 0004), so
    the global list's articlesCount costs one row however many articles there are. One row."""

    articles = models.BigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "totals"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="totals_single_row")]

    def __str__(self) -> str:
        return f"{self.articles} articles"


# Link rows carry their article's published_at while it is published (NULL while it is a draft),
# copied in by database triggers (migration 0004), so a tag's or a reader's favorites' newest
# published articles are read in order off one index, however many there are.
LISTED = models.Q(article_published_at__isnull=False)


class ArticleTag(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+", db_index=False)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="+", db_index=False)
    article_published_at = models.DateTimeField(null=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "tag"], name="article_tag_unique_pair")
        ]
        indexes = [
            models.Index(
                "tag",
                models.F("article_published_at").desc(),
                models.F("article").desc(),
                condition=LISTED,
                name="article_tag_recent_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tag_id} on {self.article_id}"


class Favorite(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    article_published_at = models.DateTimeField(null=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "article"], name="favorite_unique_pair")
        ]
        indexes = [
            models.Index(
                "user",
                models.F("article_published_at").desc(),
                models.F("article").desc(),
                condition=LISTED,
                name="favorite_recent_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} favorites {self.article_id}"


class Comment(models.Model):
    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="comments", db_index=False
    )
    author = models.ForeignKey(User, on_delete=models.CASCADE, related_name="comments")
    body = models.TextField(max_length=COMMENT_MAX_LENGTH)
    # Rendered and sanitized when it is written, like an article's.
    body_html = models.TextField(editable=False, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = CommentQuerySet.as_manager()

    class Meta:
        # An article's comments, oldest first.
        indexes = [
            models.Index(fields=["article", "created_at", "id"], name="comment_article_time_idx")
        ]

    def __str__(self) -> str:
        return f"Comment {self.pk} on {self.article_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Comments are written whole (never updated in part), so each save renders the body.
        self.body_html = markdown_render(self.body)
        super().save(*args, **kwargs)
