"""One declaration of what an article read returns: the response templates and the typed rows
agree, and a template that cannot be rendered from a row says why."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers

from resources.rows import ArticleRow, AuthorRow
from serializers_templates.articles import ArticleListItemSerializer, ArticleSerializer
from serializers_templates.base import ResponseSerializer
from serializers_templates.profiles import ProfileSerializer


def sources(template: serializers.Serializer) -> set[str]:
    return {str(field.source) for field in template.fields.values()}


def test_the_article_shape_reads_every_key_of_the_row_and_nothing_else():
    assert sources(ArticleSerializer()) == set(ArticleRow.__annotations__)


def test_a_list_item_reads_the_row_without_the_body():
    body = {"body", "body_html"}
    assert sources(ArticleListItemSerializer()) == set(ArticleRow.__annotations__) - body
    assert ArticleRow.__optional_keys__ == body


def test_the_nested_author_reads_every_key_of_the_author_row():
    assert sources(ProfileSerializer()) == set(AuthorRow.__annotations__)


def test_a_dotted_source_in_a_response_template_is_a_clear_error():
    class DottedSerializer(ResponseSerializer):
        author = serializers.CharField(source="author.username", read_only=True)

    with pytest.raises(ImproperlyConfigured, match=r"DottedSerializer\.author has source="):
        DottedSerializer().to_representation({"author": {"username": "jake"}})
