"""What the views call: search() and suggest(). Queries are built from the user's words as
plain terms (never parsed as Whoosh syntax); results come back from the database by id in
rank order. When the index is unavailable, a plain database query answers instead."""
import functools
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace

from flask import current_app
from markupsafe import Markup, escape
from sqlalchemy import or_, select
from whoosh import collectors
from whoosh.searching import ResultsPage
from whoosh.query import And, NullQuery, Or, Query, Term

from app.db import db
from app.models import Brand, County, Enterprise, GISign, Product
from app.search import documents, sync, text
from app.search.documents import DocKey
from app.search.facets import TABLE as facet_table
from app.search.facets import MatchRecordingCollector
from app.search.outbox import SearchPinyin
from app.search.schema import mixed_analyzer
from app.search.store import IndexStore, LockBusy, RepairPending
from app.search.synonyms import Synonyms
from app.search.synonyms import current as current_synonyms
from app.services.catalogue import Pagination

log = logging.getLogger(__name__)

FACETS = ("kind", "county", "category", "regime")
FACET_FIELDS = {"kind": "kind", "county": "f_county", "category": "f_category",
                "regime": "f_regime"}
SUGGEST_LIMIT = 8
# A name match outranks a place or description match; a whole name or reference number
# outranks everything.
FIELD_BOOSTS = {"name_exact": 12.0, "refs": 12.0, "name": 5.0, "pinyin": 4.0,
                "name_chars": 2.0, "place": 1.5, "body": 1.0}
_analyzer = mixed_analyzer()


@dataclass(frozen=True)
class SearchFilters:
    kind: str | None = None
    county: str | None = None
    category: str | None = None
    regime: str | None = None

    def active(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FACETS if getattr(self, name)}


@dataclass
class Hit:
    key: DocKey
    obj: object
    snippet: Markup | None = None


@dataclass
class FacetValue:
    value: str
    count: int
    selected: bool


@dataclass
class SearchResults(Pagination):
    query: str
    hits: list[Hit]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    suggestion: str | None = None  # "did you mean"
    corrected: bool = False  # hits are for the suggestion, the query itself found nothing
    no_correction: bool = False  # nothing found, and no catalogue word is close to it
    source: str = "index"  # or "database" when the index is unavailable


# --- the node's index ------------------------------------------------------------------

_rebuild_lock = threading.Lock()
# Per index root: (next attempt allowed at [monotonic s], failures in a row, running).
_rebuild_state: dict[str, tuple[float, int, bool]] = {}
# A failed repair is retried after 5 s, 10 s, 20 s... at most 5 minutes apart (a full disk
# may take a while to clear); a successful one resets this, so new damage is repaired at once.
REBUILD_RETRY_FIRST = 5.0
REBUILD_RETRY_MAX = 300.0


def get_store() -> IndexStore:
    store = current_app.extensions.get("search_store")
    if store is None:
        store = current_app.extensions.setdefault(
            "search_store", IndexStore(current_app.config["INSTANCE_DIR"] / "search"))
    return store


def auto_rebuild_enabled() -> bool:
    return current_app.config.get("SEARCH_AUTO_REBUILD", not current_app.testing)


def index_failed(store: IndexStore, error: BaseException) -> None:
    """Any failure of the index (open, read, catch-up, write): log it with its traceback,
    drop this thread's searcher, leave a repair note for the node's writer and schedule a
    repair here. The caller answers from the database."""
    if isinstance(error, RepairPending):  # found and logged already: keep the log short
        log.info("search index repair pending; answering from the database")
    else:
        log.error("search index failed (%s); answering from the database%s", error,
                  f"\nCaused by:\n{error.detail}" if getattr(error, "detail", "") else "",
                  exc_info=(type(error), error, error.__traceback__))
    try:
        store.close()
    except Exception:  # noqa: BLE001 - a damaged searcher may fail to close: drop it
        store._local.searcher = None
    store.request_repair(repr(error))
    _schedule_rebuild(store, repr(error))


def _schedule_rebuild(store: IndexStore, reason: str) -> threading.Thread | None:
    """Rebuild a missing or damaged index in a background thread of this process while its
    searches are answered from the database. One at a time per index; a failed attempt is
    retried with a doubling delay (REBUILD_RETRY_FIRST..MAX). Returns the thread started."""
    if not auto_rebuild_enabled():
        return None
    root = str(store.root)
    with _rebuild_lock:
        next_try, failures, running = _rebuild_state.get(root, (0.0, 0, False))
        if running or time.monotonic() < next_try:
            return None
        _rebuild_state[root] = (next_try, failures, True)
    log.warning("search index unavailable (%s): rebuilding in the background", reason)
    app = current_app._get_current_object()

    def run() -> None:
        ok = False
        with app.app_context():
            try:
                summary = sync.rebuild(store)
                ok = True
                log.warning("search index rebuilt: %s", summary)
            except LockBusy:  # another process of this node is rebuilding it
                log.info("search index rebuild already running in another process")
            except Exception:  # noqa: BLE001 - logged; searches keep using the database
                log.exception("search index rebuild failed")
            finally:
                db.session.remove()
        with _rebuild_lock:
            count = 0 if ok else failures + 1
            delay = 0.0 if ok else min(REBUILD_RETRY_MAX, REBUILD_RETRY_FIRST * 2 ** (count - 1))
            _rebuild_state[root] = (time.monotonic() + delay, count, False)

    thread = threading.Thread(target=run, name="search-rebuild", daemon=True)
    thread.start()
    return thread


def ready_searcher(store: IndexStore):
    """The searcher for this thread, after applying any outbox rows this node has not
    seen (try-lock: if another process is applying them, search what is there). Any
    exception means the index cannot answer (see index_failed)."""
    if store.repair_requested():
        raise RepairPending("a repair of this index is pending")
    sync.catch_up(store, timeout=0)
    return store.searcher()


# --- queries ---------------------------------------------------------------------------


def _term(fieldname: str, value: str, factor: float = 1.0) -> Term:
    return Term(fieldname, value, boost=FIELD_BOOSTS[fieldname] * factor)


def _analyze(piece: str) -> list[str]:
    return [t.text for t in _analyzer(piece)]


# Weights of the looser readings of a word, relative to the word itself: an exact match
# always ranks first.
SYNONYM_FACTOR = 0.8
PART_FACTOR = 0.3


def _word_clause(word: str, factor: float = 1.0) -> Query:
    alternatives = [_term("name", word, factor), _term("place", word, factor),
                    _term("body", word, factor)]
    if text.has_cjk(word) and len(word) <= 2:
        alternatives.append(_term("name_chars", word, factor))
    return Or(alternatives)


def _piece_clause(piece: str, strict: bool, factor: float = 1.0, reader=None,
                  synonyms: Synonyms | None = None) -> Query | None:
    """One space-separated piece of the query: every word (strict) or any word (loose),
    each word also matching its synonyms; an all-Chinese piece also matches, with a lower
    weight, the catalogue words it starts with (咖啡粉 -> 咖啡)."""
    words = _analyze(piece)
    alternatives_per_word = []
    for word in words:
        clause = _word_clause(word, factor)
        others = synonyms.of(word) if synonyms else ()
        if others:
            clause = Or([clause, *(_phrase_clause(o, factor * SYNONYM_FACTOR) for o in others)])
        alternatives_per_word.append(clause)
    if piece.isascii() and piece.isalnum():
        alternatives_per_word = [Or([*alternatives_per_word, _term("pinyin", piece, factor),
                                     _term("refs", piece, factor)])]
    if not alternatives_per_word:
        return None
    clause = And(alternatives_per_word) if strict else Or(alternatives_per_word)
    extra = []
    if synonyms and len(words) > 1:
        extra += [_phrase_clause(o, factor * SYNONYM_FACTOR) for o in synonyms.of(piece)]
    if reader is not None and all(text.is_cjk(ch) for ch in piece):
        parts = catalogue_parts(piece, reader)
        if parts:
            extra.append(And([_word_clause(p, factor * PART_FACTOR) for p in parts]))
    return Or([clause, *extra]) if extra else clause


def _phrase_clause(phrase: str, factor: float) -> Query:
    """Every word of a synonym (itself possibly several words)."""
    clauses = [c for piece in phrase.split() if (c := _piece_clause(piece, True, factor))]
    return And(clauses) if clauses else NullQuery


def _known(word: str, reader) -> bool:
    if ("name", word) in reader or ("place", word) in reader:
        return True
    return len(word) <= 2 and ("name_chars", word) in reader


def catalogue_parts(piece: str, reader) -> list[str]:
    """The catalogue words (names and places, not descriptions) a Chinese query word is
    made of, read greedily from the left, longest first, skipping what is no catalogue
    word: 咖啡粉 -> [咖啡], 和乐蟹肉 -> [和乐蟹], 黑猪肉 -> [黑猪], 鲜荔枝 -> [荔枝]. Only
    when exactly one character is skipped: a form or part (粉, 干, 汁, 肉, 叶, 苗...) or a
    qualifier (鲜); with nothing skipped the query's own words already cover it, and a
    whole unknown word (海南螃蟹) is not dropped."""
    parts, skipped, index = [], 0, 0
    while index < len(piece):
        for end in range(len(piece), index + 1, -1):
            if _known(piece[index:end], reader):
                parts.append(piece[index:end])
                index = end
                break
        else:
            skipped += 1
            index += 1
    return parts if parts and skipped == 1 else []


def build_query(query: str, strict: bool = True, reader=None,
                synonyms: Synonyms | None = None) -> Query:
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
    pieces = [c for piece in lower.split()
              if (c := _piece_clause(piece, strict, 1.0, reader, synonyms)) is not None]
    if pieces:
        top.append(And(pieces) if strict else Or(pieces))
    if synonyms and len(lower.split()) > 1:
        for other in synonyms.of(" ".join(lower.split())):
            top.append(_phrase_clause(other, SYNONYM_FACTOR))
            top.append(_term("name_exact", documents.exact_names(other), SYNONYM_FACTOR))
    elif synonyms:
        top += [_term("name_exact", documents.exact_names(o), SYNONYM_FACTOR)
                for o in synonyms.of(compact)]
    return Or(top)


def compact(query: Query, reader) -> Query:
    """The same query without the terms this index lacks, nested Ors flattened: Whoosh
    walks a tree of matchers for every matching document, and for a one-word query most of
    that tree (exact name, reference number, pinyin) usually matches nothing. Scores are
    sums either way, so the ranking does not change."""
    if isinstance(query, Term):
        return query if (query.fieldname, query.text) in reader else NullQuery
    if isinstance(query, Or):
        subs = []
        for sub in (compact(q, reader) for q in query.subqueries):
            if sub is NullQuery:
                continue
            subs.extend(sub.subqueries if isinstance(sub, Or) and sub.boost == 1.0 else [sub])
        if not subs:
            return NullQuery
        return subs[0] if len(subs) == 1 and query.boost == 1.0 else Or(subs, boost=query.boost)
    if isinstance(query, And):
        subs = [compact(q, reader) for q in query.subqueries]
        if any(sub is NullQuery for sub in subs):
            return NullQuery
        return subs[0] if len(subs) == 1 and query.boost == 1.0 else And(subs, boost=query.boost)
    return query


def _filter_query(filters: SearchFilters) -> Query | None:
    terms = [Term(FACET_FIELDS[name], value) for name, value in filters.active().items()]
    return And(terms) if terms else None


def did_you_mean(searcher, query: str) -> str | None:
    """A spelling correction for a query that found nothing, or None: each misspelt
    English or pinyin word is replaced by the closest catalogue word (English words of
    names, pinyin of names) when that word is close (see correction_for). Asked only when
    nothing matched: it reads the whole spelling dictionary."""
    vocabulary = _spelling_vocabulary(searcher.reader())
    changed = False
    words = []
    for word in query.lower().split():
        found = correction_for(word, vocabulary)
        if found:
            words.append(found)
            changed = True
        else:
            words.append(word)
    return " ".join(words) if changed else None


def max_edits(length: int) -> int:
    """Edits (Damerau-Levenshtein) allowed for a word of this many letters: none up to 3
    (li, xyz, tea: too short to tell a typo from another word), 1 for 4-5 letters, 2 from
    6 on. Commonly used cut-offs (Lucene's fuzzy AUTO and Elasticsearch's `fuzziness:
    AUTO` allow 1 edit from 3 letters, 2 from 6; we start at 4 because pinyin syllables make
    almost every 3-letter string one edit from a catalogue word)."""
    if length <= 3:
        return 0
    return 1 if length <= 5 else 2


def correction_for(word: str, vocabulary: dict[str, int]) -> str | None:
    """The vocabulary word closest to `word` (fewest edits, then most frequent), if the
    word is Latin letters only, unknown, and the candidate is within max_edits, of the same
    script, and not a lone pinyin syllable (lime is never li, bean never bian). A word
    made of pinyin syllables is reached with a second edit only when both are of the kind
    pinyin typing makes (letters swapped, one dropped or doubled: wanign -> wanning), so
    an English word is not bent into a place's pinyin (salmon is not sanmen)."""
    from whoosh.support.levenshtein import damerau_levenshtein

    if not (word.isascii() and word.isalpha()) or word in vocabulary:
        return None
    limit = max_edits(len(word))
    if not limit:
        return None
    best: tuple[int, int, str] | None = None
    for candidate, frequency in vocabulary.items():
        if abs(len(candidate) - len(word)) > limit:
            continue
        distance = damerau_levenshtein(word, candidate, limit + 1)
        if distance > 1 and text.is_pinyin(candidate) and _letters_apart(word, candidate) > 1:
            continue
        if distance <= limit and (best is None or (distance, -frequency) < best[:2]):
            best = (distance, -frequency, candidate)
    return best[2] if best else None


def _letters_apart(first: str, second: str) -> int:
    """How many letters one word has that the other lacks (order aside)."""
    a, b = Counter(first), Counter(second)
    return sum(((a - b) + (b - a)).values())


_vocabularies: dict[int, tuple[object, dict[str, int]]] = {}


def _spelling_vocabulary(reader) -> dict[str, int]:
    """word -> document frequency for the Latin words of the spelling field, less the
    words no correction should land on: single pinyin syllables, initials (wcj) and words
    too short to be asked for. Cached per reader (a new reader after each index change)."""
    cached = _vocabularies.get(id(reader))
    if cached is not None and cached[0] is reader:
        return cached[1]
    syllables = text.pinyin_syllables()
    vocabulary = {}
    for raw, info in reader.iter_field("spell"):
        word = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if (len(word) > 3 and word.isascii() and word.isalpha() and word not in syllables
                and any(vowel in word for vowel in "aeiouy")):  # not initials: cmqtdg
            vocabulary[word] = info.doc_frequency()
    while len(_vocabularies) >= 16:  # a reader per thread and index version
        _vocabularies.pop(next(iter(_vocabularies)), None)
    _vocabularies[id(reader)] = (reader, vocabulary)
    return vocabulary


@dataclass
class _Ranked:
    page: ResultsPage
    facets: dict[str, dict[str, int]]

    @property
    def total(self) -> int:
        return self.page.total


def _run(searcher, query: Query, filters: SearchFilters, page: int, per_page: int) -> _Ranked:
    """One scoring pass: the top page*per_page hits, and facet counts over every match."""
    collector = MatchRecordingCollector(limit=page * per_page)
    filter_query = _filter_query(filters)
    searcher.search_with_collector(
        compact(query, searcher.reader()), collectors.FilterCollector(collector, filter_query, None)
        if filter_query is not None else collector)
    results = collector.results()
    return _Ranked(ResultsPage(results, page, per_page),
                   facet_table.count(searcher, collector.matched))


@dataclass(frozen=True)
class HighlightTerms:
    """What marks a word of a description: its analysed form (crabs -> crab) among
    `latin`; a query word inside it (鸡 in 文昌鸡) among `chinese`; or its pinyin (whole,
    or a dictionary sub-word's: 文昌市 for wenchang) among `pinyin`."""

    latin: frozenset[str] = frozenset()
    chinese: frozenset[str] = frozenset()
    pinyin: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.latin or self.chinese or self.pinyin)

    def marks(self, word: str) -> bool:
        if text.has_cjk(word):
            return any(term in word for term in self.chinese) or bool(
                self.pinyin and not self.pinyin.isdisjoint(_pinyin_readings(word)))
        return not self.latin.isdisjoint(_analyzed(word.lower()))


def highlight_terms(query: str, known: Synonyms | None = None,
                    reader=None) -> HighlightTerms:
    """The words of a query (and of its synonyms and catalogue parts) as HighlightTerms."""
    phrases = [query.lower()]
    if known:
        phrases += [o for piece in (query.lower(), *query.lower().split())
                    for o in known.of(piece)]
        phrases += [o for piece in query.lower().split() for w in _analyze(piece)
                    for o in known.of(w)]
    latin, chinese, pinyin = set(), set(), set()
    syllables = text.pinyin_syllables()
    for phrase in phrases:
        for piece in phrase.split():
            if piece.isascii():
                latin.add(piece)  # also found as typed where its stem is no substring
            for word in _analyze(piece):
                if not text.has_cjk(word):
                    latin.add(word)
                elif len(word) > 1 or word == piece:
                    # A lone character jieba cut off an unknown word (干 of 荔枝干, 地 of
                    # 走地鸡) would mark every word that has it; one typed alone counts.
                    chinese.add(word)
            if reader is not None and all(text.is_cjk(ch) for ch in piece):
                chinese.update(catalogue_parts(piece, reader))
            if _pinyin_like(piece, syllables):
                pinyin.add(piece)
        compact = "".join(phrase.split())
        if _pinyin_like(compact, syllables):
            pinyin.add(compact)
    return HighlightTerms(frozenset(latin), frozenset(chinese), frozenset(pinyin))


def _pinyin_like(word: str, syllables: frozenset[str]) -> bool:
    """Pinyin of two or more syllables (wenchang), or initials (wcj); not a lone syllable
    (ji would mark every 鸡, 基 and 机) and not English (coffee)."""
    if not (word.isascii() and word.isalpha()) or len(word) < 2 or word in syllables:
        return False
    return text.is_pinyin(word) or not any(vowel in word for vowel in "aeiouv")


@functools.lru_cache(maxsize=20_000)
def _analyzed(word: str) -> frozenset[str]:
    return frozenset(_analyze(word))


@functools.lru_cache(maxsize=20_000)
def _pinyin_readings(word: str) -> frozenset[str]:
    """文昌市 -> {wenchangshi, wcs, wenchang}: the readings a pinyin query of it takes."""
    readings = set()
    for sub, _start, _end in text.segment(word):
        parts = text.syllables(sub)
        if len(parts) > 1:
            readings.add("".join(parts))
    parts = text.syllables(word)
    if len(parts) > 1:
        readings.add("".join(p[0] for p in parts))
    return frozenset(readings)


def for_name(terms: HighlightTerms, name: str | None) -> HighlightTerms:
    """A pinyin query's marks for one hit: the words of its name that the pinyin spells
    (wenchangji -> 文昌鸡), looked for as Chinese words in its description."""
    if not terms.pinyin or not name:
        return terms
    spelled = {word for word, _start, _end in text.segment(text.normalize(name))
               if text.has_cjk(word) and not terms.pinyin.isdisjoint(_pinyin_readings(word))}
    return replace(terms, chinese=terms.chinese | spelled) if spelled else terms


def _rough_spans(haystack: str, terms: HighlightTerms) -> list[tuple[int, int]]:
    """Where query words occur as plain substrings (a stem inside its word: coffe in
    coffees): cheap, to choose the stretch worth segmenting."""
    spans: list[tuple[int, int]] = []
    for probe in sorted(terms.chinese | terms.latin, key=len, reverse=True):
        start = haystack.find(probe)
        while start != -1 and len(spans) < 200:
            spans.append((start, start + len(probe)))
            start = haystack.find(probe, start + len(probe))
    return sorted(spans)


def marked_spans(body: str, terms: HighlightTerms, begin: int = 0,
                 end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of every whole word of body[begin:end] that a query word marks. Words
    are jieba's segmentation of the text itself (a place name stays whole; search-mode
    fragments would show 三门 of 三门坡) and Latin words whole (coffees, not coffe). A few
    characters either side are segmented too, so the stretch's edges cut as the whole text
    would."""
    end = len(body) if end is None else end
    low, high = max(0, begin - 8), min(len(body), end + 8)
    stretch = text.normalize(body[low:high])
    return [(low + start, low + stop) for word, start, stop in text.words(stretch)
            if begin <= low + start and low + stop <= end
            and any(ch.isalnum() for ch in word) and terms.marks(word)]


def snippet(body: str, terms: HighlightTerms, width: int = 120) -> Markup | None:
    """The stretch of the description with the most query words, its marked words marked,
    the rest HTML-escaped. Offsets are the original text's (normalize keeps lengths). Only
    that stretch is segmented (jieba costs about 1 ms per description)."""
    if not body or not terms:
        return None
    rough = _rough_spans(text.normalize(body).lower(), terms)
    if not rough:
        return None
    best = max(rough, key=lambda s: sum(1 for o in rough if s[0] <= o[0] < s[0] + width))
    begin = max(0, best[0] - 30)
    end = min(len(body), max(begin + width, best[1]))
    spans = marked_spans(body, terms, begin, end)
    if not spans:
        return None
    parts, cursor = [], begin
    for start, stop in spans:
        parts.append(escape(body[cursor:start]))
        parts.append(Markup("<mark>%s</mark>") % body[start:stop])
        cursor = stop
    parts.append(escape(body[cursor:end]))
    prefix = "…" if begin > 0 else ""
    suffix = "…" if end < len(body) else ""
    return Markup(prefix) + Markup("").join(parts) + Markup(suffix)


def index_search(searcher, query: str, filters: SearchFilters, page: int,
                 per_page: int) -> SearchResults:
    results = SearchResults(query, [], 0, page, per_page)
    reader, known = searcher.reader(), current_synonyms()

    def run(text_: str, strict: bool = True) -> _Ranked:
        built = build_query(text_, strict, reader, known)
        return _run(searcher, built, filters, page, per_page)

    hits = run(query)
    if hits.total == 0:
        results.suggestion = did_you_mean(searcher, query)
        if results.suggestion:
            hits = run(results.suggestion)
            results.corrected = hits.total > 0
        else:
            results.no_correction = True
        if hits.total == 0 and len(_analyze(query)) > 1:
            # Some of several words may still find something; a lone word that found
            # nothing has nothing looser to try.
            hits = run(query, strict=False)
    searched = results.suggestion if results.corrected and results.suggestion else query
    marks = highlight_terms(searched, known, reader)
    page_hits = [(DocKey(h["kind"], h["obj_id"]), h.get("body"), h.get("name"))
                 for h in hits.page]
    rows = dict(documents.load_in_order([k for k, _, _ in page_hits]))
    results.hits = [Hit(k, rows[k], snippet(body, for_name(marks, name)))
                    for k, body, name in page_hits if k in rows]
    results.total = hits.total
    results.page = min(page, max(1, hits.page.pagecount))
    active = filters.active()
    for name in FACETS:
        counts = hits.facets[name]
        values = [FacetValue(v, n, active.get(name) == v) for v, n in counts.items()]
        results.facets[name] = sorted(values, key=lambda f: (-f.count, f.value))
    return results


def search(raw_query: str, filters: SearchFilters, page: int = 1,
           per_page: int = 24) -> SearchResults:
    query = text.clean_query(raw_query)
    store = get_store()
    try:
        searcher = ready_searcher(store)
        return index_search(searcher, query, filters, page, per_page)
    except Exception as exc:  # noqa: BLE001 - a broken index must not take search down
        _abandon_transaction_if_failed()
        index_failed(store, exc)
        return database_search(query, filters, page, per_page)


# --- suggestions -----------------------------------------------------------------------


@dataclass
class Suggestion:
    key: DocKey
    label: dict


def suggest(raw_query: str, limit: int = SUGGEST_LIMIT) -> list[Suggestion]:
    query = "".join(text.clean_query(raw_query).lower().split())[:16]
    if not query:
        return []
    store = get_store()
    try:
        searcher = ready_searcher(store)
        hits = searcher.search(Term("suggest", query), limit=limit * 2)
        found, seen = [], set()
        for hit in hits:
            label = hit["label"]
            if (label["target"], label["zh"]) in seen:
                continue
            seen.add((label["target"], label["zh"]))
            found.append(Suggestion(DocKey(hit["kind"], hit["obj_id"]), label))
        return found[:limit]
    except Exception as exc:  # noqa: BLE001 - a broken index must not take suggest down
        _abandon_transaction_if_failed()
        index_failed(store, exc)
    return [Suggestion(DocKey(kind, obj.id), _label(kind, obj))
            for kind, obj in _database_matches(text.clean_query(raw_query), limit)]


# --- the database fallback ----------------------------------------------------------------


def _abandon_transaction_if_failed() -> None:
    """After a database error inside the index path, PostgreSQL refuses every statement
    until the transaction ends; a read-only search may simply start a new one."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        db.session.execute(select(1))
    except SQLAlchemyError:
        db.session.rollback()


def _label(kind: str, obj) -> dict:
    if kind == "sign":
        return {"zh": obj.official_name_zh, "en": obj.official_name_en or "",
                "slug": obj.product.slug, "target": obj.product.slug}
    return {"zh": obj.name_zh, "en": obj.name_en or "", "slug": obj.slug, "target": obj.slug}


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _pinyin_pattern(query: str) -> str | None:
    """LIKE pattern for a query typed as pinyin ('wenchangji', 'wen chang ji', 'wcj'):
    the start of one stored form. None for anything that is not plain Latin letters."""
    compact = "".join(query.lower().split())
    if len(compact) < 2 or not (compact.isascii() and compact.isalpha()):
        return None
    return f"% {compact}%"


def _database_matches(query: str, limit: int) -> list[tuple[str, object]]:
    if not query:
        return []
    pattern = _like(query)
    slug_pattern = _like("-".join(query.lower().split()))
    columns = {
        "product": (Product.name_zh, Product.name_en, Product.slug, Product.summary_zh,
                    Product.summary_en),
        "county": (County.name_zh, County.name_en, County.slug),
        "brand": (Brand.name_zh, Brand.name_en, Brand.slug, Brand.registration_number),
        "enterprise": (Enterprise.name_zh, Enterprise.name_en, Enterprise.credit_code),
        "sign": (GISign.official_name_zh, GISign.official_name_en, GISign.number),
    }
    pinyin = _pinyin_pattern(query)
    found: list[tuple[str, object]] = []
    for kind, cols in columns.items():
        conditions = [c.ilike(pattern, escape="\\") for c in cols]
        conditions += [c.ilike(slug_pattern, escape="\\") for c in cols if c.key == "slug"]
        if pinyin:
            # Full pinyin, per-word pinyin and initials, as the index's pinyin field has.
            conditions.append(documents.MODELS[kind].id.in_(
                select(SearchPinyin.obj_id).where(SearchPinyin.kind == kind,
                                                  SearchPinyin.forms.like(pinyin))))
        stmt = documents.published_query(kind).where(or_(*conditions)).limit(limit)
        found.extend((kind, obj) for obj in db.session.scalars(stmt))
    return found


def database_search(query: str, filters: SearchFilters, page: int,
                    per_page: int) -> SearchResults:
    """Slower and plainer, still correct: names, slugs, summaries and numbers by LIKE, and
    pinyin (full, per word, initials) from search_pinyin."""
    matches = [(kind, obj) for kind, obj in _database_matches(query, 500)
               if not filters.kind or filters.kind == kind]
    start = (page - 1) * per_page
    hits = [Hit(DocKey(kind, obj.id), obj) for kind, obj in matches[start:start + per_page]]
    return SearchResults(query, hits, len(matches), page, per_page, source="database")



def url_for_key(key: DocKey, label: dict) -> str:
    from flask import url_for

    if key.kind == "sign":
        return url_for("public.product", slug=label["target"], _anchor="sign")
    endpoint = {"product": "public.product", "brand": "public.brand",
                "enterprise": "public.enterprise", "county": "public.county"}[key.kind]
    return url_for(endpoint, slug=label["slug"])


def url_for_hit(hit: Hit) -> str:
    kind, obj = hit.key.kind, hit.obj
    return url_for_key(hit.key, _label(kind, obj))


def related_places(query: str):
    """For a search that found nothing: counties and categories whose names share a
    character or a word with the query, else all of them. Never a dead end."""
    from app.services import catalogue

    counties = catalogue.counties_with_counts()
    categories = catalogue.categories_with_counts()
    lower = query.lower()

    def related(obj) -> bool:
        names = f"{obj.name_zh} {obj.name_en or ''} {getattr(obj, 'slug', '')}".lower()
        return any(ch in names for ch in lower if text.is_cjk(ch)) or any(
            len(w) > 2 and w in names for w in lower.split())

    near_counties = [(c, n) for c, n in counties if related(c)]
    near_categories = [(c, n) for c, n in categories if related(c)]
    return {"counties": near_counties or counties, "categories": near_categories or categories,
            "related": bool(near_counties or near_categories)}
