"""What the views call: search() and suggest(). Queries are built from the user's words as
plain terms (never parsed as Whoosh syntax); results come back from the database by id in
rank order. When the index is unavailable, a plain database query answers instead."""
import logging
import threading
import time
from dataclasses import dataclass, field

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


def _term(fieldname: str, value: str) -> Term:
    return Term(fieldname, value, boost=FIELD_BOOSTS[fieldname])


def _analyze(piece: str) -> list[str]:
    return [t.text for t in _analyzer(piece)]


def build_query(query: str, strict: bool = True) -> Query:
    """Every word of the query must match some field (strict), or any may (loose). Whole
    names and reference numbers match exactly and weigh most. (Or, not DisjunctionMax:
    Whoosh's DisjunctionMaxMatcher scores a document with a sibling's score.)"""
    lower = query.lower()
    compact = "".join(lower.split())
    top: list[Query] = [
        _term("name_exact", documents.exact_names(lower)),
        _term("refs", compact),
    ]
    if compact.isascii() and compact.isalpha():
        top.append(_term("pinyin", compact))
    pieces: list[Query] = []
    for piece in lower.split():
        words = _analyze(piece)
        alternatives_per_word = []
        for word in words:
            alternatives = [_term("name", word), _term("place", word), _term("body", word)]
            if text.has_cjk(word) and len(word) <= 2:
                alternatives.append(_term("name_chars", word))
            alternatives_per_word.append(Or(alternatives))
        if piece.isascii() and piece.isalnum():
            alternatives_per_word = [Or(
                [*alternatives_per_word, _term("pinyin", piece), _term("refs", piece)])]
        if alternatives_per_word:
            pieces.append(And(alternatives_per_word) if strict else Or(alternatives_per_word))
    if pieces:
        top.append(And(pieces) if strict else Or(pieces))
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
    """Correct misspelt English or pinyin words (only asked when nothing was found:
    correction is slow)."""
    corrector = searcher.corrector("spell")
    reader = searcher.reader()
    changed = False
    words = []
    for word in query.lower().split():
        if word.isascii() and word.isalpha() and len(word) > 2 and (
                not reader.frequency("spell", word)):
            found = corrector.suggest(word, limit=1, maxdist=2, prefix=1)
            if found and found[0] != word:
                words.append(found[0])
                changed = True
                continue
        words.append(word)
    return " ".join(words) if changed else None


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


def snippet(body: str, words: list[str], width: int = 120) -> Markup | None:
    """The stretch of the description with the most query words, words marked. (Whoosh's
    highlighter re-analyses each token and took 7 ms a hit; this is plain string search
    on the normalised text, which has the same length as the original.)"""
    if not body or not words:
        return None
    haystack = text.normalize(body).lower()
    spans = []
    for word in sorted(set(words), key=len, reverse=True):
        start = haystack.find(word)
        while start != -1 and len(spans) < 50:
            spans.append((start, start + len(word)))
            start = haystack.find(word, start + len(word))
    if not spans:
        return None
    spans.sort(key=lambda span: (span[0], -span[1]))  # longest match first at a start
    best = max(spans, key=lambda s: sum(1 for o in spans if s[0] <= o[0] < s[0] + width))
    begin = max(0, best[0] - 30)
    end = min(len(body), begin + width)
    parts, cursor = [], begin
    for start, stop in spans:
        if start < cursor or stop > end:
            continue
        parts.append(escape(body[cursor:start]))
        parts.append(Markup("<mark>%s</mark>") % body[start:stop])
        cursor = stop
    parts.append(escape(body[cursor:end]))
    prefix = "…" if begin > 0 else ""
    suffix = "…" if end < len(body) else ""
    return Markup(prefix) + Markup("").join(parts) + Markup(suffix)


def query_words(query: str) -> list[str]:
    lower = query.lower()
    words = [w for piece in lower.split() for w in (piece, *_analyze(piece))]
    return [w for w in words if len(w) > 1 or text.has_cjk(w)]


def index_search(searcher, query: str, filters: SearchFilters, page: int,
                 per_page: int) -> SearchResults:
    results = SearchResults(query, [], 0, page, per_page)
    hits = _run(searcher, build_query(query), filters, page, per_page)
    if hits.total == 0:
        results.suggestion = did_you_mean(searcher, query)
        if results.suggestion:
            hits = _run(searcher, build_query(results.suggestion), filters, page, per_page)
            results.corrected = hits.total > 0
        if hits.total == 0:
            hits = _run(searcher, build_query(query, strict=False), filters, page, per_page)
    words = query_words(results.suggestion if results.corrected else query)
    page_hits = [(DocKey(h["kind"], h["obj_id"]), h.get("body")) for h in hits.page]
    rows = dict(documents.load_in_order([k for k, _ in page_hits]))
    results.hits = [Hit(k, rows[k], snippet(body, words)) for k, body in page_hits if k in rows]
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
