"""Queries: search() and suggest(), what the views call. Queries are built from the user's
words as plain terms (never parsed as Whoosh syntax); results come back from the database
by id in rank order. When the index is unavailable (lifecycle), the database answers
instead (fallback)."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from whoosh import collectors
from whoosh.query import And, AndMaybe, NullQuery, Or, Query, Term
from whoosh.searching import ResultsPage

from app.search import documents, fallback, highlight, lifecycle, spelling, text
from app.search.documents import DocKey
from app.search.facets import TABLE as facet_table
from app.search.facets import MatchRecordingCollector
from app.search.results import FACETS, FacetValue, Hit, SearchFilters, SearchResults, Suggestion
from app.search.synonyms import Synonyms
from app.search.synonyms import current as current_synonyms
from app.search.words import analyze, catalogue_parts, names_something

FACET_FIELDS = {
    "kind": "kind",
    "county": "f_county",
    "category": "f_category",
    "regime": "f_regime",
}
SUGGEST_LIMIT = 8
# A name match outranks a place or description match; a whole name or reference number
# outranks everything.
FIELD_BOOSTS = {
    "name_exact": 12.0,
    "refs": 12.0,
    "name": 5.0,
    "pinyin": 4.0,
    "name_chars": 2.0,
    "place": 1.5,
    "body": 1.0,
}


def _term(fieldname: str, value: str, factor: float = 1.0) -> Term:
    return Term(fieldname, value, boost=FIELD_BOOSTS[fieldname] * factor)


# Weights of the looser readings of a word, relative to the word itself: an exact match
# always ranks first.
SYNONYM_FACTOR = 0.8
PART_FACTOR = 0.3


def _word_clause(word: str, factor: float = 1.0) -> Query:
    alternatives = [
        _term("name", word, factor),
        _term("place", word, factor),
        _term("body", word, factor),
    ]
    if text.has_cjk(word) and len(word) <= 2:
        alternatives.append(_term("name_chars", word, factor))
    return Or(alternatives)


def _piece_clause(
    piece: str, strict: bool, factor: float = 1.0, reader=None, synonyms: Synonyms | None = None
) -> Query | None:
    """One space-separated piece of the query: every word (strict) or any word that names
    something in the catalogue (loose, see _loose), each word also matching its synonyms;
    an all-Chinese piece also matches, with a lower weight, the catalogue words it is made
    of (咖啡粉 -> 咖啡, 鸡肉 -> 鸡)."""
    words = analyze(piece)
    alternatives_per_word = []
    for word in words:
        clause = _word_clause(word, factor)
        others = synonyms.of(word) if synonyms else ()
        if others:
            clause = Or([clause, *(_phrase_clause(o, factor * SYNONYM_FACTOR) for o in others)])
        alternatives_per_word.append(clause)
    bases = [reader is None or names_something(w, reader, synonyms) for w in words]
    if piece.isascii() and piece.isalnum():
        alternatives_per_word = [
            Or(
                [
                    *alternatives_per_word,
                    _term("pinyin", piece, factor),
                    _term("refs", piece, factor),
                ]
            )
        ]
        bases = [
            any(bases) or ("pinyin", piece) in reader or ("refs", piece) in reader
            if reader is not None
            else True
        ]
    if not alternatives_per_word:
        return None
    matched: Query | None = (
        And(alternatives_per_word) if strict else _loose(alternatives_per_word, bases)
    )
    extra = []
    if synonyms and len(words) > 1:
        extra += [_phrase_clause(o, factor * SYNONYM_FACTOR) for o in synonyms.of(piece)]
    if reader is not None and all(text.is_cjk(ch) for ch in piece):
        parts = catalogue_parts(piece, reader, synonyms)
        if parts:
            extra.append(And([_word_clause(p, factor * PART_FACTOR) for p in parts]))
    if matched is None:
        return Or(extra) if extra else None
    return Or([matched, *extra]) if extra else matched


def _loose(alternatives: list[Query], bases: list[bool]) -> Query | None:
    """The loose retry's reading of a piece's words: any word that names something in the
    catalogue (words.names_something), the others only adding to the score of what such
    a word found. A form, part or description word alone (干 of 菠萝干, 果汁 of 苹果汁,
    juice of "apple juice") would list unrelated products; with no base the piece finds
    nothing, and the page shows related places instead."""
    required = [clause for clause, base in zip(alternatives, bases, strict=True) if base]
    optional = [clause for clause, base in zip(alternatives, bases, strict=True) if not base]
    if not required:
        return None
    if not optional:
        return Or(required)
    return AndMaybe(Or(required), Or(optional))


def _phrase_clause(phrase: str, factor: float) -> Query:
    """Every word of a synonym (itself possibly several words)."""
    clauses = [c for piece in phrase.split() if (c := _piece_clause(piece, True, factor))]
    return And(clauses) if clauses else NullQuery


def build_query(
    query: str, strict: bool = True, reader=None, synonyms: Synonyms | None = None
) -> Query:
    """Every word of the query must match some field (strict), or any may (loose). Whole
    names and reference numbers match exactly and weigh most. (Or, not DisjunctionMax:
    Whoosh's DisjunctionMaxMatcher scores a document with a sibling's score.)

    With a reader, Chinese words that extend a catalogue word also find it (see
    catalogue_parts); with synonyms, each word and the whole query also match their
    synonyms (app.search.synonyms), a little below the words themselves."""
    lower = query.lower()
    compact = "".join(lower.split())
    top: list[Query] = [
        _term("name_exact", documents.exact_names(lower)),
        _term("refs", compact),
    ]
    if compact.isascii() and compact.isalpha():
        top.append(_term("pinyin", compact))
    pieces = [
        c
        for piece in lower.split()
        if (c := _piece_clause(piece, strict, 1.0, reader, synonyms)) is not None
    ]
    if pieces:
        top.append(And(pieces) if strict else Or(pieces))
    if synonyms and len(lower.split()) > 1:
        for other in synonyms.of(" ".join(lower.split())):
            top.append(_phrase_clause(other, SYNONYM_FACTOR))
            top.append(_term("name_exact", documents.exact_names(other), SYNONYM_FACTOR))
    elif synonyms:
        top += [
            _term("name_exact", documents.exact_names(o), SYNONYM_FACTOR)
            for o in synonyms.of(compact)
        ]
    return Or(top)


def compact(query: Query, reader) -> Query:
    """The same query without the terms this index lacks, nested Ors flattened: Whoosh
    walks a tree of matchers for every matching document, and for a one-word query most of
    that tree (exact name, reference number, pinyin) usually matches nothing. Scores are
    sums either way, so the ranking does not change."""
    if isinstance(query, Term):
        return query if (query.fieldname, query.text) in reader else NullQuery
    if isinstance(query, Or):
        subs: list[Query] = []
        for sub in (compact(q, reader) for q in query.subqueries):
            if sub is NullQuery:
                continue
            subs.extend(sub.subqueries if isinstance(sub, Or) and sub.boost == 1.0 else [sub])
        subs = _merge_repeats(subs)
        if not subs:
            return NullQuery
        return subs[0] if len(subs) == 1 and query.boost == 1.0 else Or(subs, boost=query.boost)
    if isinstance(query, And):
        subs = [compact(q, reader) for q in query.subqueries]
        if any(sub is NullQuery for sub in subs):
            return NullQuery
        return subs[0] if len(subs) == 1 and query.boost == 1.0 else And(subs, boost=query.boost)
    return query


def _merge_repeats(subs: list[Query]) -> list[Query]:
    """An Or's repeated clauses as one clause of the summed boost: a word reached twice
    (the pinyin clause of the whole query and of its one piece; a synonym listed by two
    groups) is matched and scored once, not twice. The same score: a clause's score is
    its boost times the rest (to the last bit of rounding: 3 * s may differ from
    s + s + s there)."""
    repeats = Counter(subs)
    if len(repeats) == len(subs):
        return subs
    return [
        sub if times == 1 else sub.with_boost(getattr(sub, "boost", 1.0) * times)
        for sub, times in repeats.items()
    ]


def _filter_query(filters: SearchFilters) -> Query | None:
    terms = [Term(FACET_FIELDS[name], value) for name, value in filters.active().items()]
    return And(terms) if terms else None


@dataclass
class Ranked:
    """One page of an engine's answer: (key, stored body, stored name) of each hit in rank
    order, how many matched, the page count, and facet counts over every match."""

    hits: list[tuple[DocKey, Any, Any]]  # (key, body: str | None, name: str | None)
    total: int
    pagecount: int
    facets: dict[str, dict[str, int]]


class Ranker(Protocol):
    """What index_search needs of an engine: a lexicon (`(field, text) in lexicon`, for
    build_query and the highlights), one ranked run of a query tree, and a spelling
    correction for a query that found nothing."""

    lexicon: Any

    def run(self, query: Query, filters: SearchFilters, page: int, per_page: int) -> Ranked: ...

    def did_you_mean(self, query: str, synonyms: Synonyms) -> str | None: ...


class WhooshRanker:
    def __init__(self, searcher) -> None:
        self.searcher = searcher
        self.lexicon = searcher.reader()

    def run(self, query: Query, filters: SearchFilters, page: int, per_page: int) -> Ranked:
        """One scoring pass: the top page*per_page hits, and facet counts over every match."""
        searcher = self.searcher
        collector = MatchRecordingCollector(limit=page * per_page)
        filter_query = _filter_query(filters)
        searcher.search_with_collector(
            compact(query, self.lexicon),
            collectors.FilterCollector(collector, filter_query, None)
            if filter_query is not None
            else collector,
        )
        results = ResultsPage(collector.results(), page, per_page)
        return Ranked(
            [(DocKey(h["kind"], h["obj_id"]), h.get("body"), h.get("name")) for h in results],
            results.total,
            results.pagecount,
            facet_table.count(searcher, collector.matched),
        )

    def did_you_mean(self, query: str, synonyms: Synonyms) -> str | None:
        return spelling.did_you_mean(self.searcher, query, synonyms)


def index_search(
    searcher, query: str, filters: SearchFilters, page: int, per_page: int
) -> SearchResults:
    return ranked_search(WhooshRanker(searcher), query, filters, page, per_page)


def ranked_search(
    ranker: Ranker,
    query: str,
    filters: SearchFilters,
    page: int,
    per_page: int,
    synonyms: Synonyms | None = None,
) -> SearchResults:
    """The query as built by build_query, run by either engine; when it finds nothing, the
    spelling correction, then any of several words (loose). `synonyms`: the groups the
    engine read already (else read here)."""
    results = SearchResults(query, [], 0, page, per_page)
    reader = ranker.lexicon
    known = synonyms if synonyms is not None else current_synonyms()

    def run(text_: str, strict: bool = True) -> Ranked:
        built = build_query(text_, strict, reader, known)
        return ranker.run(built, filters, page, per_page)

    hits = run(query)
    if hits.total == 0:
        results.suggestion = ranker.did_you_mean(query, known)
        if results.suggestion:
            hits = run(results.suggestion)
            results.corrected = hits.total > 0
        else:
            results.no_correction = True
        if hits.total == 0 and len(analyze(query)) > 1:
            # Some of several words may still find something; a lone word that found
            # nothing has nothing looser to try.
            hits = run(query, strict=False)
    searched = results.suggestion if results.corrected and results.suggestion else query
    marks = highlight.highlight_terms(searched, known, reader)
    page_hits = hits.hits
    rows = dict(documents.load_in_order([k for k, _, _ in page_hits]))
    results.terms = marks
    # Snippets are made when shown (Hit.snippet, app/search/lines.py), in the page's language.
    results.hits = [
        Hit(k, rows[k], body, highlight.for_name(marks, name))
        for k, body, name in page_hits
        if k in rows
    ]
    results.total = hits.total
    results.page = min(page, max(1, hits.pagecount))
    active = filters.active()
    for name in FACETS:
        counts = hits.facets[name]
        values = [FacetValue(v, n, active.get(name) == v) for v, n in counts.items()]
        results.facets[name] = sorted(values, key=lambda f: (-f.count, f.value))
    return results


def search(
    raw_query: str, filters: SearchFilters, page: int = 1, per_page: int = 24
) -> SearchResults:
    """Search with this app's engine (app.search.engine: Whoosh or PostgreSQL)."""
    from app.search.engine import current_engine

    return current_engine().search(text.clean_query(raw_query), filters, page, per_page)


def whoosh_search(query: str, filters: SearchFilters, page: int, per_page: int) -> SearchResults:
    store = lifecycle.get_store()
    try:
        searcher = lifecycle.ready_searcher(store)
        return index_search(searcher, query, filters, page, per_page)
    except Exception as exc:  # noqa: BLE001 - a broken index must not take search down
        fallback.abandon_failed_transaction()
        lifecycle.index_failed(store, exc)
        return fallback.database_search(query, filters, page, per_page)


def answer_state() -> tuple | None:
    """What a search answer of this app's engine depends on besides its parameters and
    the catalogue generation (see SearchEngine.answer_state)."""
    from app.search.engine import current_engine

    return current_engine().answer_state()


def whoosh_answer_state() -> tuple | None:
    """What a Whoosh answer depends on besides its parameters and the catalogue
    generation: the index as this node has it after applying the outbox (its directory and
    the outbox rows applied, so a publish changes it at once) and the synonym groups. None
    when the index cannot answer (search() falls back to the database: such answers are
    not kept). Shape: a hashable tuple, equal for equal states."""
    store = lifecycle.get_store()
    try:
        if store.repair_requested():
            return None
        lifecycle.catch_up(store)  # as ready_searcher does, without opening a searcher
        name, state = store.current_name(), store.read_state()
    except Exception:  # noqa: BLE001 - search() meets the same failure and deals with it
        return None
    return (name, state.horizon, tuple(state.recent), current_synonyms().stamp)


# --- suggestions -----------------------------------------------------------------------


def suggest(raw_query: str, limit: int = SUGGEST_LIMIT) -> list[Suggestion]:
    """Autocomplete with this app's engine, for the first 16 letters typed."""
    from app.search.engine import current_engine

    return current_engine().suggest(raw_query, limit)


def suggest_prefix(raw_query: str) -> str:
    """What both engines look up: the query without spaces, lower case, 16 characters."""
    return "".join(text.clean_query(raw_query).lower().split())[:16]


def unique_labels(found: Iterable[Suggestion], limit: int) -> list[Suggestion]:
    """One suggestion per page opened and name (a sign and its product open one page)."""
    kept, seen = [], set()
    for suggestion in found:
        label = suggestion.label
        if (label["target"], label["zh"]) not in seen:
            seen.add((label["target"], label["zh"]))
            kept.append(suggestion)
    return kept[:limit]


def whoosh_suggest(raw_query: str, limit: int = SUGGEST_LIMIT) -> list[Suggestion]:
    query = suggest_prefix(raw_query)
    if not query:
        return []
    store = lifecycle.get_store()
    try:
        searcher = lifecycle.ready_searcher(store)
        hits = searcher.search(Term("suggest", query), limit=limit * 2)
        return unique_labels(
            (Suggestion(DocKey(hit["kind"], hit["obj_id"]), hit["label"]) for hit in hits), limit
        )
    except Exception as exc:  # noqa: BLE001 - a broken index must not take suggest down
        fallback.abandon_failed_transaction()
        lifecycle.index_failed(store, exc)
    return fallback.database_suggestions(text.clean_query(raw_query), limit)
