"""Writes: every change to the database goes through one of these functions.

Each is a plain function with keyword-only arguments, named `<entity>_<action>`. Uniqueness is
guaranteed by database constraints; a service tries the write and turns a violation into the
answer the API gives, instead of checking first and racing.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Iterator
from typing import Any

from anyascii import anyascii
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from rest_framework.exceptions import AuthenticationFailed, NotFound, ValidationError

from resources.models import (
    PUBLISHED,
    SLUG_MAX_LENGTH,
    Article,
    ArticleStatus,
    ArticleTag,
    Comment,
    Favorite,
    Follow,
    Tag,
    User,
)

# Paths under /articles/ that a slug must never shadow.
RESERVED_SLUGS = frozenset({"feed"})
SLUG_ATTEMPTS = 8
_SLUG_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
_SLUG_SUFFIX_LENGTH = 6

USER_TAKEN_MESSAGES = {
    "email": "A user with that email already exists.",
    "username": "A user with that username already exists.",
}
CREDENTIALS_INVALID = "Invalid email or password."

# A check a write makes on the locked row before it writes (an If-Match, from the view): it
# raises to refuse the write.
Precondition = Callable[[Any], None]


# --- Users and follows ------------------------------------------------------------------------


def _user_conflicts(*, email: str | None, username: str | None, exclude: User) -> dict:
    """The fields whose value another user already holds, for the 422 after a failed write."""
    errors: dict[str, list[str]] = {}
    others = User.objects.exclude(pk=exclude.pk)
    if email is not None and others.with_email(email).exists():
        errors["email"] = [USER_TAKEN_MESSAGES["email"]]
    if username is not None and others.with_username(username).exists():
        errors["username"] = [USER_TAKEN_MESSAGES["username"]]
    return errors


def _user_save(*, user: User, fields: list[str] | None, email: str | None, username: str | None):
    try:
        with transaction.atomic():
            user.save(update_fields=fields)
    except IntegrityError:
        conflicts = _user_conflicts(email=email, username=username, exclude=user)
        if not conflicts:
            raise
        raise ValidationError(conflicts) from None


def user_create(*, username: str, email: str, password: str) -> User:
    user = User(username=username, email=User.objects.normalize_email(email))
    user.set_password(password)
    _user_save(user=user, fields=None, email=user.email, username=username)
    return user


def user_authenticate(*, email: str, password: str) -> User:
    """The active user with these credentials. An unknown email costs the same hashing time as a
    wrong password and gets the same answer, so responses do not reveal who is registered."""
    user = User.objects.with_email(email).filter(is_active=True).first()
    if user is None:
        make_password(password)
        raise AuthenticationFailed(CREDENTIALS_INVALID)
    if not user.check_password(password):
        raise AuthenticationFailed(CREDENTIALS_INVALID)
    return user


def user_update(
    *,
    user: User,
    email: str | None = None,
    username: str | None = None,
    password: str | None = None,
    bio: str | None = None,
    image: str | None = None,
    fields: frozenset[str] = frozenset(),
    precondition: Precondition | None = None,
) -> User:
    """Partial update: only the names in `fields` are written (so `image` can be set to null).

    With a `precondition` (If-Match), the user's row is locked and read again first, and the
    precondition is called with it: a concurrent update waits, so of two writers that read the
    same state, only the first passes."""
    if precondition is not None:
        with transaction.atomic():
            locked = User.objects.select_for_update().filter(pk=user.pk).first()
            if locked is None:
                raise NotFound("User not found.")
            precondition(locked)
            return user_update(
                user=locked,
                email=email,
                username=username,
                password=password,
                bio=bio,
                image=image,
                fields=fields,
            )
    values = {"email": email, "username": username, "bio": bio, "image": image}
    for name in fields & values.keys():
        setattr(user, name, values[name])
    if "email" in fields and email is not None:
        user.email = User.objects.normalize_email(email)
    if "password" in fields and password is not None:
        # A new hash changes the token claim derived from it, so older tokens stop working.
        user.set_password(password)
    update_fields = sorted(fields & {*values, "password"})
    if update_fields:
        _user_save(
            user=user,
            fields=update_fields,
            email=user.email if "email" in fields else None,
            username=user.username if "username" in fields else None,
        )
    return user


def user_follow(*, follower: User, followee: User) -> None:
    if follower.pk == followee.pk:
        raise ValidationError({"username": ["You cannot follow yourself."]})
    try:
        Follow.objects.bulk_create(
            [Follow(follower=follower, followee=followee)], ignore_conflicts=True
        )
    except IntegrityError:
        # Not a duplicate (those are ignored): the followee was deleted meanwhile.
        raise NotFound("Profile not found.") from None


def user_unfollow(*, follower: User, followee: User) -> None:
    Follow.objects.filter(follower=follower, followee=followee).delete()


# --- Articles and tags ------------------------------------------------------------------------


def _slug_base(title: str) -> str:
    # Leave room for "-" and a suffix within the column.
    limit = SLUG_MAX_LENGTH - _SLUG_SUFFIX_LENGTH - 1
    return slugify(anyascii(title))[:limit].strip("-_")


def _slug_candidates(title: str, *, keep: str | None = None) -> Iterator[str]:
    """`keep` (an article's current slug) first if given, then the slug for `title`, then the
    same with a random suffix, for when it is taken. A title with no letters or digits, or one
    that would shadow a route, always gets a suffix."""
    if keep is not None:
        yield keep
    base = _slug_base(title)
    if base and base not in RESERVED_SLUGS and base != keep:
        yield base
    base = base or "article"
    while True:
        suffix = "".join(secrets.choice(_SLUG_SUFFIX_ALPHABET) for _ in range(_SLUG_SUFFIX_LENGTH))
        yield f"{base}-{suffix}"


def _slug_taken(*, article: Article, slug: str) -> bool:
    """Whether another article holds `slug` where this one needs it free: among its author's
    articles, and among published ones if it is published. (A draft's slug is not taken from
    anyone else: nothing may tell them it exists.)"""
    holders = Article.objects.filter(slug=slug).exclude(pk=article.pk)
    if article.status == ArticleStatus.PUBLISHED:
        return holders.filter(Q(author_id=article.author_id) | PUBLISHED).exists()
    return holders.filter(author_id=article.author_id).exists()


def _save_with_free_slug(
    *, article: Article, candidates: Iterator[str], save: Callable[[str], None]
) -> None:
    """Calls `save(slug)` in a transaction with the candidate slugs until one is free. The
    unique constraints decide; a failure that is not a slug collision is raised."""
    for _ in range(SLUG_ATTEMPTS):
        slug = next(candidates)
        try:
            with transaction.atomic():
                save(slug)
            return
        except IntegrityError:
            if not _slug_taken(article=article, slug=slug):
                raise
    raise ValidationError({"title": ["Could not find a free slug for this title; try again."]})


def _tags_upsert(*, names: list[str]) -> list[Tag]:
    """The tags named, created where missing, in one statement whatever their number. Sorted by
    name: every writer locks tag rows in that order."""
    if not names:
        return []
    return Tag.objects.bulk_create(
        [Tag(name=name) for name in sorted(names)],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["name"],
    )


def _article_link_tags(*, article: Article, tags: list[Tag]) -> None:
    if tags:
        ArticleTag.objects.bulk_create([ArticleTag(article=article, tag=tag) for tag in tags])


def article_create(*, author: User, tag_names: list[str] | None = None, **fields: Any) -> Article:
    """A new article by `author`. `fields` are the columns a client writes (title, description,
    body, status, ...), as the request template validated them; an article is published unless
    its status says draft."""
    now = timezone.now()
    article = Article(author=author, created_at=now, updated_at=now, **fields)
    if article.status == ArticleStatus.PUBLISHED:
        article.published_at = now

    def save(slug: str) -> None:
        # Tags before the article: rows are locked in the order every writer uses (tags, then
        # the author's and the global counters), so concurrent writers cannot deadlock.
        tags = _tags_upsert(names=tag_names or [])
        article.slug = slug
        article.pk = None
        article.save(force_insert=True)
        _article_link_tags(article=article, tags=tags)

    _save_with_free_slug(article=article, candidates=_slug_candidates(article.title), save=save)
    return article


def _article_locked(*, article: Article) -> Article:
    """The article's row, read again and locked until the transaction ends; 404 if it is gone."""
    locked = Article.objects.select_for_update().filter(pk=article.pk).first()
    if locked is None:
        raise NotFound("Article not found.")
    return locked


def article_update(
    *,
    article: Article,
    tag_names: list[str] | None = None,
    precondition: Precondition | None = None,
    **fields: Any,
) -> Article:
    """Partial update of the columns in `fields`, and of the tags when `tag_names` is given.

    A new title gives a new slug (the old one then answers 404), unless it slugifies to the
    current slug; resending the same title keeps the slug. Publishing sets published_at the
    first time only, and keeps the slug unless a published article holds it meanwhile.

    With a `precondition` (If-Match), the row is locked and read again first and the
    precondition called with it, so two writers that read the same state cannot both pass."""
    if precondition is not None:
        with transaction.atomic():
            locked = _article_locked(article=article)
            precondition(locked)
            return article_update(article=locked, tag_names=tag_names, **fields)
    title = fields.get("title")
    new_title = title is not None and title != article.title and _slug_base(title) != article.slug
    publishing = (
        fields.get("status") == ArticleStatus.PUBLISHED
        and article.status != ArticleStatus.PUBLISHED
    )
    for name, value in fields.items():
        setattr(article, name, value)
    article.updated_at = timezone.now()
    changed = ["updated_at", *fields]
    if "body" in fields:
        article.render()
        changed += ["body_html", "reading_time_minutes"]
    if publishing and article.published_at is None:
        article.published_at = article.updated_at
        changed.append("published_at")

    def save(slug: str) -> None:
        article.slug = slug
        values = {name: getattr(article, name) for name in [*changed, "slug"]}
        if not Article.objects.filter(pk=article.pk).update(**values):
            raise NotFound("Article not found.")
        if tag_names is not None:
            # Lock the old and the new tags together, in name order, before unlinking any.
            links = ArticleTag.objects.filter(article=article)
            old = set(links.values_list("tag__name", flat=True))
            tags = _tags_upsert(names=[*old.union(tag_names)])
            links.delete()
            _article_link_tags(article=article, tags=[t for t in tags if t.name in tag_names])

    if new_title:
        candidates = _slug_candidates(article.title)
    elif publishing:
        candidates = _slug_candidates(article.title, keep=article.slug)
    else:
        with transaction.atomic():
            save(article.slug)
        return article
    _save_with_free_slug(article=article, candidates=candidates, save=save)
    return article


def article_delete(*, article: Article, precondition: Precondition | None = None) -> None:
    """Deletes the article with its comments, favorites and tag links. The row is locked first,
    so a comment or favorite written at the same moment waits, then fails (the API answers it
    404) instead of slipping in between and failing the delete. A `precondition` (If-Match) is
    called with the locked row."""
    with transaction.atomic():
        if precondition is not None:
            precondition(_article_locked(article=article))
        elif not Article.objects.select_for_update().filter(pk=article.pk).exists():
            raise NotFound("Article not found.")
        article.delete()


def article_favorite(*, user: User, article: Article) -> None:
    try:
        Favorite.objects.bulk_create([Favorite(user=user, article=article)], ignore_conflicts=True)
    except IntegrityError:
        # Not a duplicate (those are ignored): the article was deleted meanwhile.
        raise NotFound("Article not found.") from None


def article_unfavorite(*, user: User, article: Article) -> None:
    # The article's row is locked before the favorite's, the order a publish takes them in
    # (its trigger rewrites the favorites' copy of the date), so the two cannot deadlock.
    locked = Article.objects.select_for_update().filter(pk=article.pk).values("pk")
    with transaction.atomic():
        Favorite.objects.filter(user=user, article__in=locked).delete()


# --- Comments ---------------------------------------------------------------------------------


def comment_create(*, author: User, article: Article, body: str) -> Comment:
    now = timezone.now()
    comment = Comment(article=article, author=author, body=body, created_at=now, updated_at=now)
    try:
        with transaction.atomic():
            comment.save(force_insert=True)
    except IntegrityError:
        # The article was deleted while the comment was being written.
        raise NotFound("Article not found.") from None
    return comment


def comment_delete(*, comment: Comment) -> None:
    comment.delete()
