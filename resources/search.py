"""Full-text search over articles: the search box's syntax, and the SQL expressions that match and
rank it.

The syntax is PostgreSQL's `websearch_to_tsquery`: words (all must match), "quoted phrases",
-excluded words and phrases, and `or` between groups of them. On PostgreSQL the text goes to
`websearch_to_tsquery` itself, over a weighted tsvector that triggers keep in step with every write
(migration 0005: title A, description and tag names B, body C; stemmed with the SEARCH_CONFIG text
search configuration, accents removed), with a GIN index, and the title, description and tags alone
in a column of their own that the relevance tiers read (0007). On SQLite (the zero-setup default)
the same syntax is translated here into an FTS5 query over a table kept by triggers, with the
porter stemmer and diacritics removed.

Relevance is a tier: the whole query matched by the title alone (3), by the title, description
and tags (2), or only with the body too (1); newer first within a tier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Expression, IntegerField

SEARCH_MAX_LENGTH = 200
TITLE_TIER, FIELDS_TIER, BODY_TIER = 3, 2, 1
SQLITE_MATCHING = (
    "SELECT rowid FROM resources_article_search WHERE resources_article_search MATCH %s"
)
# A column every row of the SQLite table holds this token in: a query of exclusions only
# ("-dragons") has to start from every article, and FTS5's NOT needs something to subtract from.
SQLITE_EVERY_ROW = "{marker} : all"
SQLITE_COLUMNS = {
    TITLE_TIER: "{title}",
    FIELDS_TIER: "{title description tags}",
    BODY_TIER: "{title description tags body}",
}
# PostgreSQL's english stop words (tsearch_data/english.stop): its configuration drops them from
# a query, so the SQLite translation does too, and "the dragon" means "dragon" on both.
ENGLISH_STOP_WORDS = frozenset(
    """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves what which who whom
    this that these those am is are was were be been being have has had having do does did doing
    a an the and but if or because as until while of at by for with about against between into
    through during before after above below to from up down in out on off over under again
    further then once here there when where why how all any both each few more most other some
    such no nor not only own same so than too very s t can will just don should now
    """.split()  # noqa: SIM905 (a word list, as PostgreSQL ships it)
)

# A term of the search box: "a quoted phrase" (the closing quote may be missing), or a word;
# either may be excluded with a leading minus.
_TERM = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]
    excluded: bool


def parse(text: str, *, stop_words: frozenset[str] = ENGLISH_STOP_WORDS) -> list[list[Term]]:
    """The search box's text as groups of terms: the groups are alternatives (`or`), every term
    of a group must hold. Words are lowercased; stop words and punctuation are dropped, and so
    are terms left empty by that."""
    groups: list[list[Term]] = [[]]
    for match in _TERM.finditer(text):
        minus, phrase, bare = match.groups()
        if bare is not None and bare.lower() == "or":
            if groups[-1]:
                groups.append([])
            continue
        excluded = bool(minus) if bare is None else bare.startswith("-")
        source = phrase if bare is None else bare.removeprefix("-")
        words = tuple(w for w in _WORD.findall(source.lower()) if w not in stop_words)
        if words:
            groups[-1].append(Term(words, excluded))
    return [group for group in groups if group]


def has_matches(groups: list[list[Term]]) -> bool:
    """Whether a query can match anything: it has a word left to look for."""
    return any(groups)


def fts5_query(groups: list[list[Term]], tier: int) -> str:
    """The FTS5 query for `groups` matched within the columns of `tier`."""
    columns = SQLITE_COLUMNS[tier]

    def phrase(term: Term) -> str:
        # Words are \w+ runs, so they hold no quote; FTS5 tokenizes (and stems) them itself.
        return f'{columns} : "{" ".join(term.words)}"'

    alternatives = []
    for group in groups:
        wanted = [phrase(t) for t in group if not t.excluded] or [SQLITE_EVERY_ROW]
        unwanted = [phrase(t) for t in group if t.excluded]
        query = " AND ".join(wanted)
        if unwanted:
            query = f"({query}) NOT ({' OR '.join(unwanted)})"
        alternatives.append(f"({query})")
    return " OR ".join(alternatives)


def search_values(text: str, vendor: str) -> tuple[str, str, str]:
    """What the SQL of a search takes for `text`: the query for a match, for the title tier and
    for the title, description and tags tier."""
    if vendor != "sqlite":
        return text, text, text
    groups = parse(text)
    return (
        fts5_query(groups, BODY_TIER),
        fts5_query(groups, TITLE_TIER),
        fts5_query(groups, FIELDS_TIER),
    )


# A scalar subquery, so that PostgreSQL parses and stems the search box's text once per statement
# (an InitPlan) rather than once per matching row in the recheck, the count and the ranking:
# unaccent() is only STABLE, so the call itself is not folded into a constant.
POSTGRESQL_QUERY = "(SELECT websearch_to_tsquery(conduit_search_config(), unaccent(%s)))"


def postgresql_config_sql(config: str) -> str:
    """The function the triggers and the queries take the text search configuration from, made
    for `config` (a plain name: settings.SEARCH_CONFIG is checked to be one)."""
    return (
        "CREATE OR REPLACE FUNCTION conduit_search_config() RETURNS regconfig"
        f" LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT '{config}'::regconfig $$"
    )


def _article_table(compiler: Any) -> str:
    # The alias the article table has in the query this expression is compiled into.
    alias = compiler.query.get_initial_alias()
    # Django 6.1 quotes every alias (subquery aliases such as U0 included) and deprecates the
    # older method, which leaves aliases bare: each version is asked to quote it as it does.
    quote = getattr(compiler, "quote_name", None) or compiler.quote_name_unless_alias
    return quote(alias)


class SearchMatch(Expression):
    """True for the articles matching the search: `text` is the first of search_values()."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, list]:
        article = _article_table(compiler)
        vector = f"({article}.search_vector || {article}.search_tags)"
        return f"{vector} @@ {POSTGRESQL_QUERY}", [self.text]

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, list]:
        article = _article_table(compiler)
        return f"{article}.id IN ({SQLITE_MATCHING})", [self.text]


class SearchTier(Expression):
    """The relevance tier of a matching article: `title` and `fields` are the second and third
    of search_values()."""

    output_field = IntegerField()

    def __init__(self, title: str, fields: str) -> None:
        super().__init__()
        self.title, self.fields = title, fields

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, list]:
        article = _article_table(compiler)
        # search_head is the title, description and tags alone (migration 0007): asking it
        # leaves the body's lexemes, most of the vector, unread.
        title = f"ts_filter({article}.search_head, '{{a}}') @@ {POSTGRESQL_QUERY}"
        fields = f"{article}.search_head @@ {POSTGRESQL_QUERY}"
        sql = (
            f"CASE WHEN {title} THEN {TITLE_TIER} WHEN {fields} THEN {FIELDS_TIER}"
            f" ELSE {BODY_TIER} END"
        )
        return sql, [self.title, self.fields]

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, list]:
        article = _article_table(compiler)
        sql = (
            f"CASE WHEN {article}.id IN ({SQLITE_MATCHING}) THEN {TITLE_TIER}"
            f" WHEN {article}.id IN ({SQLITE_MATCHING}) THEN {FIELDS_TIER} ELSE {BODY_TIER} END"
        )
        return sql, [self.title, self.fields]
