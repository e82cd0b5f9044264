"""The PostgreSQL engine: search documents in the site's own database, written in the same
transaction as the listing change, so every app server sees a publish at commit.

search_documents holds one row per published listing (and county): a tsvector whose
lexemes are "<field>:<term>", the terms being exactly what the Whoosh schema's analyzers
give for each field of the document (documents.*_document; jieba, pinyin, stems, codes),
weighted A (name_exact, refs), B (name, pinyin), C (name_chars, place, suggest) and D
(body); the facet values as columns; the label, name and body for suggestions and
snippets; and the document's digest for `flask search check`. search_terms counts the
documents of each lexeme (Whoosh's document frequency: the idf of the ranking, and the
lexicon build_query asks), of each spelling-field word ("spell:<word>", trigram-indexed
with pg_trgm for "did you mean") and, as "*", of all documents.

Queries are service.build_query's tree of whoosh.query Term/And/Or, compiled to a tsquery
(Term -> 'field:term', And -> &, Or -> |; lexemes quoted, passed as parameters) for the
GIN index, and to a score with Whoosh's boosts and idf: boost x idf of each matched Term
(idf as Whoosh's, log(N / (df + 1)) + 1), summed as Whoosh's Or and And sum their
matches, times the kind's weight (schema.KIND_BOOST). Whoosh's BM25 also weighs term
frequency and field length; here ts_rank (length-normalised) only breaks ties, then kind
and id.

The tables live on their own MetaData, out of the ORM's (migration
0007_search_documents creates them on PostgreSQL only)."""

import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask import current_app
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from whoosh.query import And, AndMaybe, NullQuery, Or, Query, Term

from app.caching.store import read_generation, response_cache
from app.db import db
from app.search import documents, fallback, outbox, service, spelling, sync
from app.search import text as search_text
from app.search.documents import DocKey
from app.search.results import SearchFilters, SearchResults, Suggestion
from app.search.schema import KIND_BOOST, SegmentedAnalyzer, build_schema
from app.search.store import IndexUnavailable
from app.search.synonyms import Synonyms
from app.search.synonyms import current as current_synonyms
from app.search.words import analyze

log = logging.getLogger(__name__)

metadata = MetaData()
search_documents = Table(
    "search_documents",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("obj_id", Integer, primary_key=True),
    Column("vector", TSVECTOR, nullable=False),  # every lexeme: the GIN index's
    # The lexemes a ranking reads (SCORED_FIELDS), kept in the row (STORAGE MAIN), and the
    # positions in `vector` (ts_rank's length): see _RANKED_SQL.
    Column("scoring", TSVECTOR, nullable=False),
    Column("length", Integer, nullable=False),
    Column("counties", ARRAY(Text), nullable=False),  # county slugs
    Column("category", Text, nullable=False),  # category slug, "" for none
    Column("regimes", ARRAY(Text), nullable=False),  # Regime values
    Column("label", JSONB, nullable=False),  # {"zh", "en", "slug", "target"}
    Column("name", Text, nullable=False),  # "name_zh\nname_en" (highlight.for_name)
    Column("body", Text, nullable=False),  # for snippets
    Column("spell", ARRAY(Text), nullable=False),  # its spelling-field words
    Column("digest", String(32), nullable=False),  # sync.document_digest
    Column("words", ARRAY(Text), nullable=False),  # documents.document_words, for jieba
    # The transaction that wrote the row (pg_current_xact_id as a number): other processes
    # learn the words of rows written since they last looked (learn_catalogue_words).
    Column("written_by", BigInteger, nullable=False),
)
search_terms = Table(
    "search_terms",
    metadata,
    Column("lexeme", Text, primary_key=True),  # "field:term", "spell:word" or "*"
    Column("documents", Integer, nullable=False),  # documents having it
)
TABLES = frozenset(metadata.tables)


def autogenerate_includes(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's include_object: autogenerate (and the schema test) leaves the search
    engine's tables and their indexes alone; they live on their own MetaData and
    migration 0007 creates them."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return not (table is not None and table.name in TABLES)


# Field -> tsvector weight. Weights only shape ts_rank, the tie-breaker: the ranking proper
# uses service.FIELD_BOOSTS through the query tree.
WEIGHTS = {
    "name_exact": "A",
    "refs": "A",
    "name": "B",
    "pinyin": "B",
    "name_chars": "C",
    "place": "C",
    "suggest": "C",
    "body": "D",
}
# The fields whose lexemes `scoring` holds: not the body (most of a vector; a body term's
# documents come from the GIN index instead) nor the suggestion prefixes (suggest only).
SCORED_FIELDS = frozenset(WEIGHTS) - {"body", "suggest"}
ALL_DOCUMENTS = "*"  # the search_terms row counting every document
SPELL = "spell:"
HEAD = "head:"
MAX_POSITION = 16383  # PostgreSQL's largest lexeme position
MAX_LEXEME_BYTES = 2000  # PostgreSQL refuses lexemes over 2047 bytes
PENDING = "search_documents_pending"  # session.info key: DocKeys to write at commit
SPELLING_CANDIDATES = 50


@lru_cache(maxsize=1)
def _schema():
    return build_schema()


# --- documents -> rows ----------------------------------------------------------------------


def quoted(lexeme: str) -> str:
    """A lexeme as tsvector/tsquery input syntax: in single quotes, quote and backslash
    escaped. Only ever sent as a bound parameter."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def field_terms(fieldname: str, value: Any) -> list[str]:
    """The terms Whoosh's schema indexes for this field's value, in order (repeats kept:
    they are the term frequency)."""
    if not value:
        return []
    field = _schema()[fieldname]
    if isinstance(field.analyzer, SegmentedAnalyzer):  # its cached words, without tokens
        return [t for t in field.analyzer.words(str(value), "index") if t]
    return [t for t in field.process_text(str(value), mode="index") if t]


def _positions(doc: dict) -> dict[str, list[str]]:
    """ "field:term" -> its positions with the field's weight ("3B"), for every term of
    every weighted field (tsvector input syntax)."""
    positions: dict[str, list[str]] = {}
    position = 0
    for fieldname, weight in WEIGHTS.items():
        for term in field_terms(fieldname, doc.get(fieldname)):
            lexeme = f"{fieldname}:{term}"
            if len(lexeme.encode()) > MAX_LEXEME_BYTES:
                continue
            position = min(position + 1, MAX_POSITION)
            positions.setdefault(lexeme, []).append(f"{position}{weight}")
    return positions


def product_head(kind: str, label_zh: str | None) -> str | None:
    """The last character of a product document's Chinese name when it is Chinese
    (words.product_heads: 鸡 of 文昌鸡), else None."""
    if kind != "product" or not label_zh or not search_text.is_cjk(label_zh[-1]):
        return None
    return label_zh[-1]


def counted_terms(lexemes: Iterable[str], spell: Iterable[str], head: str | None) -> set[str]:
    """What a document adds to search_terms: its lexemes (less the suggestion prefixes,
    which nothing counts), its spelling words, a product's head ("head:鸡") and the "*"
    of all documents."""
    found = {lexeme for lexeme in lexemes if not lexeme.startswith("suggest:")}
    heads = {HEAD + head} if head else set()
    return found | {SPELL + word for word in spell} | heads | {ALL_DOCUMENTS}


def _split(value: str) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def document_row(doc: dict) -> dict:
    """The search_documents row of a document, and under "terms" what it counts in
    search_terms (not a column)."""
    positions = {lexeme: spots[:256] for lexeme, spots in _positions(doc).items()}
    entries = {lexeme: f"{quoted(lexeme)}:{','.join(spots)}" for lexeme, spots in positions.items()}
    spell = sorted(set(field_terms("spell", doc["spell"])))
    return {
        "kind": doc["kind"],
        "obj_id": doc["obj_id"],
        "vector": " ".join(entries.values()),
        "scoring": " ".join(
            entry for lexeme, entry in entries.items() if lexeme.split(":", 1)[0] in SCORED_FIELDS
        ),
        "length": sum(map(len, positions.values())),
        "counties": _split(doc["f_county"]),
        "category": doc["f_category"] or "",
        "regimes": _split(doc["f_regime"]),
        "label": doc["label"],
        "name": doc["name"] or "",
        "body": doc["body"] or "",
        "spell": spell,
        "digest": sync.document_digest(doc),
        "words": documents.document_words(doc),
        "terms": counted_terms(positions, spell, product_head(doc["kind"], doc["label"]["zh"])),
    }


_INSERT_ROWS = text(
    """
    INSERT INTO search_documents
        (kind, obj_id, vector, scoring, length, counties, category, regimes, label, name, body,
         spell, digest, words, written_by)
    VALUES (:kind, :obj_id, CAST(:vector AS tsvector), CAST(:scoring AS tsvector), :length,
            :counties, :category, :regimes, :label, :name, :body, :spell, :digest, :words,
            pg_current_xact_id()::text::bigint)
    ON CONFLICT (kind, obj_id) DO UPDATE SET
        vector = excluded.vector, scoring = excluded.scoring, length = excluded.length,
        counties = excluded.counties, category = excluded.category,
        regimes = excluded.regimes, label = excluded.label, name = excluded.name,
        body = excluded.body, spell = excluded.spell, digest = excluded.digest,
        words = excluded.words, written_by = excluded.written_by
    """
).bindparams(bindparam("label", type_=JSONB))


def count_terms(connection: Connection, delta: Counter) -> None:
    """Add delta (lexeme -> documents gained, negative for lost) to search_terms, in
    lexeme order (concurrent writers lock the same rows in the same order), then drop
    lexemes no document has any more."""
    changed = sorted((t, n) for t, n in delta.items() if n)
    if not changed:
        return
    stmt = pg_insert(search_terms)
    connection.execute(
        stmt.on_conflict_do_update(
            index_elements=[search_terms.c.lexeme],
            set_={"documents": search_terms.c.documents + stmt.excluded.documents},
        ),
        [{"lexeme": t, "documents": n} for t, n in changed],
    )
    lost = [t for t, n in changed if n < 0]
    if lost:
        connection.execute(
            text("DELETE FROM search_terms WHERE lexeme = ANY(:lost) AND documents <= 0"),
            {"lost": lost},
        )


def write_keys(connection: Connection, keys: Iterable[DocKey]) -> int:
    """Rewrite these documents from the database as the session sees it: published ones
    upserted, the others deleted; search_terms follows. Returns the keys written."""
    learn_catalogue_words()
    changed = documents.with_dependants(keys)
    docs = {
        kind: [doc for _key, doc in documents.iter_documents(kind, ids)]
        for kind, ids in changed.items()
    }
    learn_document_words([doc for kind_docs in docs.values() for doc in kind_docs])
    written = 0
    for kind, ids in changed.items():
        rows = [document_row(doc) for doc in docs[kind]]
        old = connection.execute(
            text(
                "SELECT tsvector_to_array(vector), spell, label->>'zh' FROM search_documents "
                "WHERE kind = :kind AND obj_id = ANY(:ids) FOR UPDATE"
            ),
            {"kind": kind, "ids": sorted(ids)},
        ).all()
        delta: Counter = Counter()
        for lexemes, spell, label_zh in old:
            delta.subtract(counted_terms(lexemes, spell, product_head(kind, label_zh)))
        for row in rows:
            delta.update(row.pop("terms"))
        gone = sorted(ids - {row["obj_id"] for row in rows})
        if gone:
            connection.execute(
                text("DELETE FROM search_documents WHERE kind = :kind AND obj_id = ANY(:ids)"),
                {"kind": kind, "ids": gone},
            )
        if rows:
            connection.execute(_INSERT_ROWS, rows)
        count_terms(connection, delta)
        written += len(ids)
    return written


# --- jieba's words -------------------------------------------------------------------------


@dataclass(frozen=True)
class Learned:
    """How far this process has learned one database's catalogue words: the catalogue
    generation, and the horizon, a transaction id below which every writer had finished
    when the words were last read (search_documents.written_by)."""

    generation: int
    horizon: int


_learned: dict[str, Learned] = {}  # database URL -> what this process learned of it

# The oldest transaction still running: every transaction below it has committed or
# rolled back, so its rows were visible to any statement that follows.
_HORIZON_SQL = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
_WORDS_WRITTEN_SINCE_SQL = text(
    "SELECT kind, words FROM search_documents WHERE written_by >= :horizon"
)


def learn_catalogue_words(everything: bool = False) -> None:
    """Teach jieba this catalogue's names (and the places' readings) before any text is
    analysed here, and what changed after any catalogue change: documents and queries
    must segment alike, in every process (Whoosh keeps the list in its index's
    words.txt). The whole catalogue is read once per process and database
    (learn_all_catalogue_words, and again by a rebuild); after that only the words of the
    documents written since (learn_words_written_since), whichever process wrote them.
    everything: read the whole catalogue again (a rebuild)."""
    search_text.jieba_instance(current_app.config["INSTANCE_DIR"] / "search" / "jieba")
    url = str(db.engine.url)
    generation, _changed = read_generation()
    known = _learned.get(url)
    if known is not None and known.generation == generation and not everything:
        return
    # Read before the words: a writer still running now is read again next time.
    horizon = db.session.execute(_HORIZON_SQL).scalar_one()
    if known is None or everything:
        learn_all_catalogue_words()
    else:
        learn_words_written_since(known.horizon)
    _learned[url] = Learned(generation, horizon)


def learn_all_catalogue_words() -> None:
    """Every catalogue name and place reading, from the catalogue's tables."""
    sync.learn_readings()
    search_text.add_words(documents.catalogue_words())


def learn_words_written_since(horizon: int) -> None:
    """The words of the documents written by transactions from `horizon` on (the index on
    written_by finds them; words already known cost nothing)."""
    rows = db.session.execute(_WORDS_WRITTEN_SINCE_SQL, {"horizon": horizon}).all()
    if any(kind == "county" for kind, _words in rows):
        sync.learn_readings()
    search_text.add_words(word for _kind, words in rows for word in words)


def learn_document_words(docs: list[dict]) -> None:
    """Before these documents are analysed: their own new words (a renamed listing's name,
    a county's reading), so that they segment as the rebuild would segment them."""
    if any(doc["kind"] == "county" for doc in docs):
        sync.learn_readings()
    search_text.add_words(word for doc in docs for word in documents.document_words(doc))


# --- queries -------------------------------------------------------------------------------


def _float(value: float) -> str:
    """A number as an SQL float8 constant: a bare 1.5 is numeric, whose arithmetic, over
    thousands of matches, cost more than the float's (and ranked no differently)."""
    return f"{value!r}::float8"


class Compiled:
    """A query tree as SQL: `tsquery` (input syntax, for the GIN index), the distinct
    lexemes (`lexemes[i]` is column t<i>), and `score`, an SQL expression over the t<i>
    columns. User text is only ever in the parameters (params())."""

    def __init__(self, query: Query, idf: Callable[[str], float] = lambda _lexeme: 1.0) -> None:
        self.lexemes: list[str] = []
        self._index: dict[str, int] = {}
        self._idf = idf
        self.tsquery = self._match(query)
        self.score = self._score(query) if self.tsquery else "0"

    def params(self) -> dict[str, str]:
        found = {f"t{i}": quoted(lexeme) for i, lexeme in enumerate(self.lexemes)}
        return found | {"query": self.tsquery or ""}

    def _column(self, term: Term) -> str:
        lexeme = f"{term.fieldname}:{term.text}"
        if lexeme not in self._index:
            self._index[lexeme] = len(self.lexemes)
            self.lexemes.append(lexeme)
        return f"t{self._index[lexeme]}"

    @staticmethod
    def _children(query: Or | And) -> list[Query]:
        # Whoosh's normalize() drops NullQuery from And and Or alike.
        return [q for q in query.subqueries if q is not NullQuery]

    def _match(self, query: Query) -> str | None:
        """tsquery text, or None for a query that matches nothing."""
        if isinstance(query, AndMaybe):  # the optional side only adds to the score
            return self._match(query.a)
        if isinstance(query, Term):
            self._column(query)
            return quoted(f"{query.fieldname}:{query.text}")
        if isinstance(query, Or | And):
            parts = [self._match(q) for q in self._children(query)]
            if isinstance(query, And):
                if not parts or None in parts:
                    return None
                return "(" + " & ".join(p for p in parts if p) + ")"
            found = [p for p in parts if p]
            return "(" + " | ".join(found) + ")" if found else None
        return None  # NullQuery and anything build_query never makes

    def _matched(self, query: Query) -> str:
        if isinstance(query, AndMaybe):
            return self._matched(query.a)
        if isinstance(query, Term):
            return self._column(query)
        if isinstance(query, Or | And):
            parts = [self._matched(q) for q in self._children(query)]
            if not parts:
                return "false"
            return "(" + (" AND " if isinstance(query, And) else " OR ").join(parts) + ")"
        return "false"

    def _score(self, query: Query) -> str:
        """Whoosh's sums: a Term scores its boost when matched, an Or the sum of its
        matching parts, an And the sum of its parts when all match."""
        boost = float(getattr(query, "boost", 1.0))
        if isinstance(query, Term):
            weight = boost * self._idf(f"{query.fieldname}:{query.text}")
            return f"(CASE WHEN {self._column(query)} THEN {_float(weight)} ELSE 0 END)"
        if isinstance(query, AndMaybe):  # Whoosh: the required side's score, plus the other's
            total = f"({self._score(query.a)} + {self._score(query.b)})"
            return f"(CASE WHEN {self._matched(query.a)} THEN {total} ELSE 0 END)"
        if not isinstance(query, Or | And):
            return "0"
        parts = [self._score(q) for q in self._children(query)]
        if not parts:
            return "0"
        total = "(" + " + ".join(parts) + ")"
        if boost != 1.0:
            total = f"({total} * {_float(boost)})"
        if isinstance(query, And):
            return f"(CASE WHEN {self._matched(query)} THEN {total} ELSE 0 END)"
        return total


_FILTERS = {
    "kind": "kind = :f_kind",
    "county": ":f_county = ANY(counties)",
    "category": "category = :f_category",
    "regime": ":f_regime = ANY(regimes)",
}
_KIND_WEIGHT = (
    "(CASE kind "
    + " ".join(f"WHEN '{kind}' THEN {_float(boost)}" for kind, boost in KIND_BOOST.items())
    + " ELSE 1.0 END)"
)
# Facet counts over every match and one page of hits, in one round trip: rows of
# ("facet", facet, value, count, ...) and ("hit", ..., rank, kind, obj_id, name, body). A page
# past the end is the last page, as Whoosh does (the offset is clamped to the last full page).
#
# What a match costs is what is read of its row: the GIN index finds the matches without
# reading a vector (a plain tsquery needs no recheck), and the ranking reads only the small
# `scoring` vector kept in the row (the whole vector, out of line, took most of the time: a
# search at 100,000 documents read thousands). Body terms are tested through the index
# (_membership). The tie-breaker is ts_rank(vector, query, 1) less the body's part: the rank
# over `scoring`, normalised by the whole vector's length as ts_rank's flag 1 does
# (rank / log2(length + 1)). The names and bodies are read for the page's rows only.
_RANKED_SQL = """
    WITH matched AS MATERIALIZED (
        SELECT kind, obj_id, counties, category, regimes, {columns},
               ts_rank(scoring, CAST(:query AS tsquery), 0)
                   / (ln(greatest(length, 1) + 1.0::float8) / ln(2.0::float8)) AS tie
        FROM search_documents
        WHERE vector @@ CAST(:query AS tsquery) {filters}
    ),
    facets AS (
        SELECT 'kind' AS facet, kind AS value, count(*) AS n FROM matched GROUP BY kind
        UNION ALL
        SELECT 'county', c, count(*) FROM matched, unnest(counties) AS c GROUP BY c
        UNION ALL
        SELECT 'category', category, count(*) FROM matched WHERE category <> ''
        GROUP BY category
        UNION ALL
        SELECT 'regime', r, count(*) FROM matched, unnest(regimes) AS r GROUP BY r
    ),
    page AS (
        SELECT kind, obj_id,
               row_number() OVER (ORDER BY {score} * {kind_weight} DESC, tie DESC, kind, obj_id)
                   AS rank
        FROM matched
        ORDER BY rank
        LIMIT :limit
        OFFSET LEAST(:offset, GREATEST(0, (SELECT count(*) - 1 FROM matched) / :limit * :limit))
    )
    SELECT 'facet', facet, value, n, NULL, NULL, NULL, NULL FROM facets
    UNION ALL
    SELECT 'hit', NULL, NULL, page.rank, page.kind, page.obj_id, found.name, found.body
    FROM page JOIN search_documents AS found USING (kind, obj_id)
"""


def _membership(index: int, lexeme: str) -> str:
    """Column t<index> of _RANKED_SQL: whether a match has the lexeme, read from its
    `scoring` vector, or for another field's lexeme (a body word) from the GIN index (one
    scan per lexeme, the matches' keys hashed), never from the whole vector."""
    found = f"CAST(:t{index} AS tsquery)"
    if lexeme.split(":", 1)[0] in SCORED_FIELDS:
        return f"scoring @@ {found} AS t{index}"
    return (
        f"(kind, obj_id) IN (SELECT kind, obj_id FROM search_documents WHERE vector @@ {found})"
        f" AS t{index}"
    )


class Lexicon:
    """The two questions build_query and the highlights ask of an index's terms, from
    search_terms: `(field, term) in lexicon`, and the document frequency of a lexeme (for
    the idf), memoised for one search."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._documents: dict[str, int] = {}
        self._heads: frozenset[str] | None = None

    def __contains__(self, item: tuple[str, str]) -> bool:
        return self.documents(f"{item[0]}:{item[1]}") > 0

    def documents(self, lexeme: str) -> int:
        if lexeme not in self._documents:
            self.prefetch([lexeme])
        return self._documents[lexeme]

    def product_heads(self) -> frozenset[str]:
        """words.product_heads for this engine: the last characters of the Chinese names
        of product documents (product_head), counted in search_terms as "head:鸡"; read
        once per catalogue generation (a product document changes only with a listing,
        which moves the generation)."""
        if self._heads is None:
            self._heads = response_cache.derived("search product heads", self._read_heads)
        return self._heads

    def _read_heads(self) -> frozenset[str]:
        # The partial index of migration 0010 holds exactly these rows.
        heads = self.connection.execute(
            text(
                "SELECT substr(lexeme, 6) FROM search_terms "
                "WHERE lexeme LIKE 'head:%' AND documents > 0"
            )
        ).scalars()
        return frozenset(heads)

    def idf(self, lexeme: str) -> float:
        """Whoosh's idf (scoring.WeightingModel.idf): log(N / (df + 1)) + 1."""
        return math.log(max(1, self.documents(ALL_DOCUMENTS)) / (self.documents(lexeme) + 1)) + 1

    def learn(self, found: Iterable[tuple[str, int]]) -> None:
        """Document counts read by another statement (lexeme, documents)."""
        self._documents.update(found)

    def prefetch(self, lexemes: Iterable[str]) -> None:
        """Look many lexemes up in one round trip."""
        wanted = sorted({lexeme for lexeme in lexemes if lexeme not in self._documents})
        if not wanted:
            return
        found: dict[str, int] = {
            lexeme: documents
            for lexeme, documents in self.connection.execute(
                text("SELECT lexeme, documents FROM search_terms WHERE lexeme = ANY(:wanted)"),
                {"wanted": wanted},
            )
        }
        for lexeme in wanted:
            self._documents[lexeme] = found.get(lexeme, 0)


PART_FIELDS = ("name", "place", "body", "name_chars")  # service._word_clause's fields


def catalogue_part_lookups(query: str, longest: int = 24) -> list[str]:
    """Every lexeme words.catalogue_parts may look up for the all-Chinese pieces of a query
    (substrings as names or places, up to two characters as name characters, single
    characters as head words), and those its parts' clauses then score (body too)."""
    items = [ALL_DOCUMENTS]
    for piece in query.lower().split():
        if len(piece) > longest or not all(search_text.is_cjk(ch) for ch in piece):
            continue
        items += [f"{field}:{ch}" for ch in piece for field in PART_FIELDS]
        for start in range(len(piece)):
            for end in range(start + 2, len(piece) + 1):
                sub = piece[start:end]
                items += [f"{field}:{sub}" for field in PART_FIELDS if field != "name_chars"]
                if len(sub) <= 2:
                    items.append(f"name_chars:{sub}")
    return items


def query_lookups(query: str, synonyms: Synonyms | None) -> set[str]:
    """Every lexeme a search of `query` is likely to ask the lexicon about, so that one
    statement answers them: the terms of build_query's strict and loose trees, the
    catalogue parts (catalogue_part_lookups) of the query and of its synonyms (the
    highlights look for those), and a two-character word as name characters
    (words.names_something). A lexeme missed here is still looked up, one statement more."""
    lower = query.lower()
    phrases = [lower]
    if synonyms:  # highlight.highlight_terms looks for the catalogue parts of these too
        words = [w for piece in lower.split() for w in analyze(piece)]
        phrases += [o for piece in (lower, *lower.split(), *words) for o in synonyms.of(piece)]
    items = set(catalogue_part_lookups(" ".join(phrases)))
    for strict in (True, False):
        tree = service.build_query(query, strict, None, synonyms)
        items.update(f"{field}:{term}" for field, term in tree.iter_all_terms())
    for piece in query.lower().split():
        items.update(f"name_chars:{word}" for word in analyze(piece) if len(word) == 2)
    return items


class PostgresRanker:
    """service.Ranker over search_documents, on the request's own connection (so a search
    made inside a transaction sees that transaction's documents)."""

    def __init__(self, connection: Connection, query: str, synonyms: Synonyms | None) -> None:
        self.connection = connection
        self.lexicon = Lexicon(connection)
        self.lexicon.prefetch(query_lookups(query, synonyms))

    def run(self, query: Query, filters: SearchFilters, page: int, per_page: int) -> service.Ranked:
        """Facet counts and one page of hits in one statement (_RANKED_SQL)."""
        self.lexicon.prefetch(f"{field}:{term}" for field, term in query.iter_all_terms())
        compiled = Compiled(query, self.lexicon.idf)
        if compiled.tsquery is None:
            return service.Ranked([], 0, 0, {name: {} for name in _FILTERS})
        active = filters.active()
        where = "".join(f" AND {_FILTERS[name]}" for name in active)
        params: dict[str, Any] = compiled.params() | {f"f_{n}": v for n, v in active.items()}
        columns = ", ".join(_membership(i, lexeme) for i, lexeme in enumerate(compiled.lexemes))
        sql = _RANKED_SQL.format(
            columns=columns, filters=where, score=compiled.score, kind_weight=_KIND_WEIGHT
        )
        facets: dict[str, dict[str, int]] = {name: {} for name in _FILTERS}
        hits: list[tuple[int, DocKey, Any, Any]] = []
        # The planner does not count reading each vector out of line (TOAST) for `@@`, and
        # on a catalogue of thousands it picks a scan of the whole table, which reads every
        # vector (10,000 documents: 70-100 ms instead of 5-15 ms through the GIN index). The
        # index is always the better way in (for the body terms' scans too), so the
        # whole-table scan is off for this statement only (transaction-local, reset right
        # after).
        self.connection.execute(text("SELECT set_config('enable_seqscan', 'off', true)"))
        rows = self.connection.execute(
            text(sql), params | {"limit": per_page, "offset": (max(1, page) - 1) * per_page}
        ).all()
        self.connection.execute(text("RESET enable_seqscan"))
        for part, facet, value, count, kind, obj_id, name, body in rows:
            if part == "facet":
                facets[facet][value] = count
            else:  # count: the hit's rank
                hits.append((count, DocKey(kind, obj_id), body, name))
        total = sum(facets["kind"].values())
        ranked = [(key, body, name) for _r, key, body, name in sorted(hits, key=lambda h: h[0])]
        return service.Ranked(ranked, total, -(-total // per_page), facets)

    def did_you_mean(self, query: str, synonyms: Synonyms) -> str | None:
        syllables = search_text.pinyin_syllables()

        def near(word: str) -> spelling.Vocabulary:
            limit = spelling.max_edits(len(word))
            # The nearest words (_SPELLING_SQL), then Whoosh's own rule
            # (spelling.correction_for) among them.
            rows = self.connection.execute(
                _SPELLING_SQL,
                {
                    "word": word,
                    "shortest": len(SPELL) + len(word) - limit,
                    "longest": len(SPELL) + len(word) + limit,
                    "n": SPELLING_CANDIDATES,
                },
            ).all()
            vocabulary = {w: n for w, n, _ in rows if spelling.is_vocabulary_word(w, syllables)}
            self.lexicon.learn((f"pinyin:{w}", as_pinyin) for w, _, as_pinyin in rows)
            return vocabulary, frozenset(w for w in vocabulary if ("pinyin", w) in self.lexicon)

        correction = spelling.correct(query, near, self.lexicon, synonyms)
        if correction:  # searched next: its lexemes in one statement too
            self.lexicon.prefetch(query_lookups(correction, synonyms))
        return correction


# The nearest words by trigrams (the partial GiST index of migration 0007), each with its
# documents as a pinyin word (0: none), in one round trip.
_SPELLING_SQL = text(
    """
    SELECT near.word, near.documents, coalesce(pinyin.documents, 0) FROM (
        SELECT substr(lexeme, 7) AS word, documents, lexeme FROM search_terms
        WHERE lexeme LIKE 'spell:%' AND length(lexeme) BETWEEN :shortest AND :longest
        ORDER BY substr(lexeme, 7) <-> :word, lexeme LIMIT :n
    ) AS near
    LEFT JOIN search_terms AS pinyin ON pinyin.lexeme = 'pinyin:' || near.word
    ORDER BY near.word <-> :word, near.lexeme
    """
)

_SUGGEST_SQL = f"""
    SELECT kind, obj_id, label FROM search_documents
    WHERE vector @@ CAST(:prefix AS tsquery)
    ORDER BY ts_rank(vector, CAST(:prefix AS tsquery), 1) * {_KIND_WEIGHT} DESC, kind, obj_id
    LIMIT :limit
"""


# --- the engine ----------------------------------------------------------------------------


class PostgresEngine:
    name = "postgresql"

    def answer_state(self) -> tuple | None:
        """Documents change in the listing's own transaction, and every listing change
        moves the catalogue generation, which the cache key holds already: only the
        synonyms (applied at query time) remain."""
        return (self.name, current_synonyms().stamp)

    def search(self, query: str, filters: SearchFilters, page: int, per_page: int) -> SearchResults:
        try:
            learn_catalogue_words()
            known = current_synonyms()
            ranker = PostgresRanker(db.session.connection(), query, known)
            return service.ranked_search(ranker, query, filters, page, per_page, known)
        except Exception:  # noqa: BLE001 - a broken engine must not take search down
            log.exception("PostgreSQL search failed; answering from the database")
            fallback.abandon_failed_transaction()
            return fallback.database_search(query, filters, page, per_page)

    def suggest(self, query: str, limit: int) -> list[Suggestion]:
        prefix = service.suggest_prefix(query)
        if not prefix:
            return []
        try:
            rows = db.session.execute(
                text(_SUGGEST_SQL),
                {"prefix": quoted(f"suggest:{prefix}"), "limit": limit * 2},
            ).all()
            return service.unique_labels(
                (Suggestion(DocKey(kind, obj_id), label) for kind, obj_id, label in rows), limit
            )
        except Exception:  # noqa: BLE001 - a broken engine must not take suggest down
            log.exception("PostgreSQL suggest failed; answering from the database")
            fallback.abandon_failed_transaction()
        return fallback.database_suggestions(search_text.clean_query(query), limit)

    def rebuild(self, progress: sync.Progress | None = None) -> sync.RebuildSummary:
        """Every document rewritten in one transaction: readers see the old set until it
        commits. Listing changes committing meanwhile wait for it (the table lock), then
        write their own documents over it."""
        started = time.monotonic()
        summary = sync.RebuildSummary(directory="search_documents")
        connection = db.session.connection()
        connection.execute(text("LOCK TABLE search_documents IN SHARE ROW EXCLUSIVE MODE"))
        learn_catalogue_words(everything=True)
        connection.execute(text("DELETE FROM search_documents"))
        connection.execute(text("DELETE FROM search_terms"))
        from app.search import pg_rebuild  # it builds on this module

        summary.counts = pg_rebuild.rebuild(connection, progress)
        db.session.commit()
        sync.refresh_fallback()
        summary.seconds = time.monotonic() - started
        return summary

    def ensure(self) -> str:
        report = self.check()
        if report.ok:
            if not sync.fallback_filled():
                sync.refresh_fallback()
            return "current"
        self.rebuild()
        return "rebuilt"

    def check(self, fix: bool = False) -> sync.CheckReport:
        try:
            indexed = {
                f"{kind}:{obj_id}": digest
                for kind, obj_id, digest in db.session.execute(
                    text("SELECT kind, obj_id, digest FROM search_documents")
                )
            }
        except SQLAlchemyError as exc:
            db.session.rollback()
            raise IndexUnavailable(
                f"search_documents cannot be read ({type(exc).__name__}); run `flask db upgrade`"
            ) from exc
        learn_catalogue_words()
        report = sync.compare(indexed, sync.expected_digests(), engine=self.name)
        if fix and not report.ok:
            keys = {DocKey.parse(k) for k in (*report.missing, *report.extra, *report.stale)}
            write_keys(db.session.connection(), keys)
            db.session.commit()
            report.fixed = True
        return report

    def changed(self, session: Session, touched: Iterable[Any], deleted: set[Any]) -> None:
        """Keep search_pinyin in step now; note the documents to write when the
        transaction commits (before_commit, below)."""
        connection = session.connection()
        outbox.write_pinyin(connection, touched, deleted)
        keys = {DocKey(kind, obj_id) for kind, obj_id in outbox.changed_keys(touched)}
        if keys:
            session.info.setdefault(PENDING, set()).update(keys)


def before_commit(session: Session) -> None:
    """Write the documents this transaction changed, inside it: a rollback takes them
    back, a commit publishes them to every app server at once. Building them reads the
    database through the session, which may flush more changes: repeat until none."""
    for _round in range(10):
        if session.new or session.dirty or session.deleted:
            session.flush()
        pending = session.info.pop(PENDING, None)
        if not pending:
            return
        write_keys(session.connection(), pending)
    raise RuntimeError("search documents kept changing while being written")


def forget_pending(session: Session) -> None:
    """After a rollback: nothing of it is to be written."""
    session.info.pop(PENDING, None)
