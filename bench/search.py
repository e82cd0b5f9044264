"""Search benchmark: every search engine on the same synthetic catalogue (realistic zh/en
names, ~300-character descriptions, the seed's 149 listings), in one run per size:

  build time (documents from the database into a complete index), time until an edit is
  searchable, query p50/p95 by query type (single word zh, two words, pinyin, initials,
  English, faceted, misspelt, no result), suggest p50/p95, peak memory (RSS) of a process
  serving search, index size; then the issue's targets beside the figures (PASS / MISS).

Engines are small adapter classes (Engine below): the app's Whoosh index and the app's
PostgreSQL engine (app/search/postgresql.py, in a throwaway database of its own holding the
same synthetic catalogue), both through the public interface (app.search); SQLite FTS5 over
the same jieba-segmented documents (baseline) and a plain `simple` tsvector in PostgreSQL
(pg-simple, the baseline written before the app's engine existed). Queries are measured in a
fresh process per engine, so its memory is what a worker serving search costs.

    .venv/bin/python bench/search.py                                 # 10,000 documents
    nice -n 10 .venv/bin/python bench/search.py --docs 10000 100000  # both sizes (long)
    .venv/bin/python bench/search.py --engines whoosh fts5           # some engines only
    nice -n 10 .venv/bin/python bench/search.py --docs 100000 --engines postgresql
    BENCH_KEEP_DATABASE=1 ... --engines postgresql   # keep its database (EXPLAIN, then drop)
    BENCH_PG_DATABASE=<kept url> ... --engines postgresql  # measure it again (migrated, kept)
"""

import argparse
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.db import db  # noqa: E402
from app.models import Category, County, Product, PublicationStatus, product_counties  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

PLACES = [
    "文昌",
    "琼海",
    "万宁",
    "三亚",
    "儋州",
    "五指山",
    "东方",
    "定安",
    "屯昌",
    "澄迈",
    "临高",
    "白沙",
    "昌江",
    "乐东",
    "陵水",
    "保亭",
    "琼中",
    "海口",
]
PLACES_EN = [
    "Wenchang",
    "Qionghai",
    "Wanning",
    "Sanya",
    "Danzhou",
    "Wuzhishan",
    "Dongfang",
    "Ding'an",
    "Tunchang",
    "Chengmai",
    "Lingao",
    "Baisha",
    "Changjiang",
    "Ledong",
    "Lingshui",
    "Baoting",
    "Qiongzhong",
    "Haikou",
]
GOODS = [
    ("鸡", "chicken"),
    ("咖啡", "coffee"),
    ("芒果", "mango"),
    ("荔枝", "lychee"),
    ("绿茶", "green tea"),
    ("红茶", "black tea"),
    ("黑猪", "black pig"),
    ("山羊", "goat"),
    ("胡椒", "pepper"),
    ("椰子", "coconut"),
    ("香蕉", "banana"),
    ("蜜柚", "pomelo"),
    ("槟榔", "areca nut"),
    ("莲雾", "wax apple"),
    ("海盐", "sea salt"),
    ("蟹", "crab"),
    ("鸭", "duck"),
    ("地瓜", "sweet potato"),
    ("黄皮", "wampee"),
    ("粽子", "zongzi"),
]
MARKS = ["山", "岭", "湾", "溪", "园", "源", "乡", "村", "林", "坡"]
MARKS_EN = [
    "Hill",
    "Ridge",
    "Bay",
    "Brook",
    "Garden",
    "Spring",
    "Village",
    "Hamlet",
    "Grove",
    "Slope",
]
ZH_SENTENCES = [
    "产于海南岛热带季风气候区，日照充足，雨量充沛。",
    "当地农户世代种养，传统工艺保存完好。",
    "品质鲜美，口感独特，深受消费者喜爱。",
    "采用林下生态放养，出栏前经过短期育肥。",
    "土壤富含矿物质，昼夜温差较大，利于糖分积累。",
    "每年采收季节，产地市场十分繁忙。",
]
EN_SENTENCES = [
    "Grown in Hainan's tropical monsoon climate with plenty of sun and rain.",
    "Local farmers have raised it for generations using traditional methods.",
    "Known for its fresh taste and distinctive texture.",
    "Raised free-range under the trees, then finished for a short period.",
    "Mineral-rich soil and warm days help the sugars build up.",
]
# Query types -> queries (a tuple carries facet filters). Initials are those of whole
# synthetic names (文昌山鸡 -> wcsj); misspelt words are one or two edits from a name word.
QUERIES: dict[str, list] = {
    "single zh": ["咖啡", "芒果", "鸡", "椰子", "荔枝", "胡椒"],
    "two words": ["文昌 鸡", "三亚 芒果", "万宁 咖啡", "琼海 椰子", "儋州 荔枝", "东方 胡椒"],
    "pinyin": ["wenchangji", "kafei", "mangguo", "qionghai", "lizhi", "xinglong"],
    "initials": ["wcj", "wcsj", "qhwkf", "sylmg", "dzylz", "wnxhj"],
    "english": ["coffee", "lychee", "pepper", "goat", "wenchang", "green tea"],
    "faceted": [
        ("咖啡", {"county": "wanning"}),
        ("mango", {"category": "fruit"}),
        ("鸡", {"county": "wenchang"}),
        ("coffee", {"kind": "product"}),
        ("荔枝", {"county": "danzhou", "category": "fruit"}),
        ("wenchang", {"kind": "county"}),
    ],
    "misspelt": ["cofee", "lychie", "wenchnag", "peper", "mangoe", "qionhai"],
    "no result": ["xyzzy", "量子计算", "spaceship", "zzqx plover", "火星车", "quasar"],
}
SUGGEST = ["wen", "文昌", "ka", "man", "qio", "san", "wcj", "green"]
PER_PAGE = 24
ROUNDS = 5


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def build_catalogue(app, docs: int) -> None:
    """The seed catalogue, then synthetic products up to `docs` documents, straight into
    the tables (bulk inserts; the app's services would take longer than the benchmark)."""
    from flask_migrate import upgrade

    from app.services.seed import SeedLoader

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        SeedLoader(app.config["SEED_DIR"], app.config["MEDIA_ROOT"]).run()
        db.session.commit()
        counties = {
            c.name_zh[: len(p)]: c
            for c in db.session.scalars(select(County))
            for p in PLACES
            if c.name_zh.startswith(p)
        }
        categories = [c.id for c in db.session.scalars(select(Category))]
        rng = random.Random(42)
        rows, links = [], []
        start_id = (db.session.scalar(select(Product.id).order_by(Product.id.desc())) or 0) + 1
        for n in range(docs - 149):  # the seed already has 149 documents
            i = rng.randrange(len(PLACES))
            good_zh, good_en = rng.choice(GOODS)
            j = rng.randrange(len(MARKS))
            name_zh = f"{PLACES[i]}{MARKS[j]}{good_zh}{n % 97 if n % 3 == 0 else ''}"
            name_en = f"{PLACES_EN[i]} {MARKS_EN[j]} {good_en.title()}"
            description_zh = "".join(rng.sample(ZH_SENTENCES, 4))
            description_en = " ".join(rng.sample(EN_SENTENCES, 3))
            rows.append(
                {
                    "id": start_id + n,
                    "slug": f"synthetic-{n}",
                    "name_zh": name_zh,
                    "name_en": name_en,
                    "category_id": rng.choice(categories),
                    "province_wide": False,
                    "summary_zh": description_zh[:60],
                    "summary_en": description_en[:120],
                    "description_zh": description_zh,
                    "description_en": description_en,
                    "characteristics_zh": "",
                    "season_mask": 4095,
                    "featured": False,
                    "status": PublicationStatus.PUBLISHED.value,
                    "version": 1,
                }
            )
            links.append({"product_id": start_id + n, "county_id": counties[PLACES[i]].id})
        for chunk in range(0, len(rows), 5000):
            db.session.execute(insert(Product.__table__), rows[chunk : chunk + 5000])
            db.session.execute(insert(product_counties), links[chunk : chunk + 5000])
        db.session.commit()


# --- what every engine shares ----------------------------------------------------------


def bench_config(db_url: str, instance: Path, media: Path) -> type:
    import config

    return type(
        "BenchConfig",
        (config.DevelopmentConfig,),
        {
            "SQLALCHEMY_DATABASE_URI": db_url,
            "INSTANCE_DIR": instance,
            "MEDIA_ROOT": media,
            "SEARCH_AUTO_REBUILD": False,
        },
    )


def make_app(workdir: Path):
    return create_app(bench_config(catalogue_url(workdir), workdir / "instance", workdir / "media"))


def catalogue_url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'catalogue.sqlite3'}"


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def peak_rss_mb(pid: int | str = "self") -> float:
    """VmHWM: peak resident memory of a process image (ru_maxrss would carry over the
    parent's peak across fork+exec on Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return 0.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def forget_text_caches() -> None:
    """Each engine's build starts with jieba's and pypinyin's caches as cold as a fresh
    `flask search reindex` has them (the previous engine's build filled them)."""
    from app.search import text

    text._segment_block.cache_clear()
    text._words_of_block.cache_clear()
    text._syllables.cache_clear()


def segmented(value: str) -> str:
    """Text as space-separated words, cut as the Whoosh index cuts it (jieba search mode
    over the same normalisation), for the engines whose tokenizers split on spaces."""
    from app.search import text

    words = text.segment(text.normalize(value or "").lower())
    return " ".join(w for w, _s, _e in words if any(ch.isalnum() for ch in w))


def query_words(query: str) -> list[str]:
    return segmented(query).split()


class Engine:
    """One search engine under test. build(), edit_searchable() and index_bytes() run in
    the benchmark process (app context open); serve() runs in a fresh process that only
    answers queries, so its peak memory is a serving worker's.

    search() returns how many documents matched (after filters); the engine also computes
    the top PER_PAGE and the facet counts, as a search page needs them."""

    name = ""
    edit_word = ""  # a word no document has, put into one name by edit_searchable()
    commit_s = 0.0  # edit_searchable(): how long the commit of the edit took

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    # False for an engine that needs the catalogue in a database of its own (prepare()).
    uses_shared_catalogue = True

    def prepare(self, docs: int):
        """The app whose catalogue this engine indexes; None: the shared SQLite one."""
        return None

    def serving_app(self):
        """The app the serving process searches through."""
        return make_app(self.workdir)

    def build(self) -> float:
        raise NotImplementedError

    def write_edited(self, product: Product) -> None:
        """Make the committed edit of `product` searchable the way this engine would."""
        raise NotImplementedError

    def index_bytes(self) -> int:
        raise NotImplementedError

    def open(self) -> None:
        """In the serving process: connect, load what answering needs."""

    def search(self, query: str, filters: dict[str, str]) -> int:
        raise NotImplementedError

    def suggest(self, prefix: str) -> int:
        raise NotImplementedError

    def other_rss_mb(self) -> float:
        """Memory of a server process answering for this worker (PostgreSQL's backend)."""
        return 0.0

    def close(self) -> None:
        """Drop what the engine made outside the work directory."""

    def edit_searchable(self) -> float:
        """Seconds from committing a product's new English name until a search for it
        finds the product."""
        slug = f"synthetic-{7 + ENGINES.index(type(self))}"
        product = db.session.scalar(select(Product).where(Product.slug == slug))
        assert product is not None
        if product.name_en.lower().startswith(self.edit_word):  # a kept catalogue's: new word
            self.edit_word += "".join(random.choices("bcdfghjklmnpqrstvwxz", k=6))
        product.name_en = f"{self.edit_word.title()} Starfruit"
        started = time.perf_counter()
        db.session.commit()
        self.commit_s = time.perf_counter() - started  # the rest: writing it, finding it
        self.write_edited(product)
        while not self.search(f"{self.edit_word} starfruit", {}):
            if time.perf_counter() - started > 60:
                raise RuntimeError(f"{self.name}: the edit is not searchable after 60 s")
        return time.perf_counter() - started


class WhooshEngine(Engine):
    """The app's own index, through its public functions (rebuild, search, suggest): the
    figures include what a search page gets (facets, snippets, the 24 rows loaded)."""

    name = "whoosh"
    edit_word = "zanzibarish"

    def build(self) -> float:
        from app.search import lifecycle, sync

        summary = sync.rebuild(lifecycle.get_store())
        db.session.remove()
        return summary.seconds

    def write_edited(self, product: Product) -> None:
        """Nothing: the commit wrote the outbox; the searching process applies it."""

    def edit_searchable(self) -> float:
        from app.search import lifecycle, sync

        seconds = super().edit_searchable()
        sync.optimize(lifecycle.get_store(), timeout=10)  # as the worker would, later
        db.session.remove()
        return seconds

    def index_bytes(self) -> int:
        from app.search import lifecycle

        return directory_size(lifecycle.get_store().current_dir())

    def search(self, query: str, filters: dict[str, str]) -> int:
        from app.search import SearchFilters, search

        results = search(query, SearchFilters(**filters), 1, PER_PAGE)
        assert results.source == "index", "the index failed: the database answered"
        return results.total

    def suggest(self, prefix: str) -> int:
        from app.search import suggest

        return len(suggest(prefix))


def baseline_documents() -> Iterator[dict]:
    """Every published document as the Whoosh rebuild makes it, its text segmented."""
    from app.search import documents

    for kind in documents.MODELS:
        for _key, doc in documents.iter_documents(kind):
            yield baseline_row(doc)


def baseline_row(doc: dict) -> dict:
    return {
        "key": doc["key"],
        "kind": doc["kind"],
        "name": segmented(doc["name"]),
        "place": segmented(doc["place"]),
        "pinyin": doc["pinyin"],
        "body": segmented(doc["body"]),
        "suggest": " ".join([segmented(doc["name"]), doc["pinyin"]]),
        "county": doc["f_county"],
        "category": doc["f_category"],
    }


def learn_catalogue_words(workdir: Path) -> None:
    """Teach jieba the catalogue's names, as the Whoosh rebuild does (its words.txt), so
    all engines cut text the same way; the serving process reads them back."""
    from app.search import documents, text

    path = workdir / "catalogue-words.txt"
    if not path.exists():
        text.learn_place_readings(documents.place_names())
        path.write_text("\n".join(documents.catalogue_words()), encoding="utf-8")
    text.add_words(path.read_text(encoding="utf-8").split("\n"))


def facet_counts(rows: list[tuple[str, str, str, int]]) -> dict[str, Counter]:
    """(kind, counties "a,b", category, n) groups -> counts per facet value."""
    counts: dict[str, Counter] = {"kind": Counter(), "county": Counter(), "category": Counter()}
    for kind, counties, category, n in rows:
        counts["kind"][kind] += n
        counts["category"][category] += n
        for county in (counties or "").split(","):
            if county:
                counts["county"][county] += n
    return counts


class Fts5Baseline(Engine):
    """SQLite FTS5 (unicode61) over the jieba-segmented names, places, pinyin and bodies;
    bm25 with name > pinyin > place > body; facets by GROUP BY over the matches. No
    spelling correction, no single-character name matches (鸡 of 文昌山鸡)."""

    name = "fts5"
    edit_word = "quokkaberry"
    COLUMNS = ("key", "kind", "name", "place", "pinyin", "body", "suggest", "county", "category")

    @property
    def path(self) -> Path:
        return self.workdir / "fts5.sqlite3"

    def build(self) -> float:
        self.path.unlink(missing_ok=True)
        forget_text_caches()
        started = time.perf_counter()
        learn_catalogue_words(self.workdir)
        connection = sqlite3.connect(self.path)
        connection.executescript(
            """
            CREATE VIRTUAL TABLE docs USING fts5(name, place, pinyin, body,
                tokenize='unicode61');
            CREATE VIRTUAL TABLE names USING fts5(suggest, tokenize='unicode61',
                prefix='1 2 3');
            CREATE TABLE meta (rowid INTEGER PRIMARY KEY, key TEXT UNIQUE, kind TEXT,
                county TEXT, category TEXT);
            """
        )
        batch: list[dict] = []
        for row in baseline_documents():
            batch.append(row)
            if len(batch) == 1000:
                self._insert(connection, batch)
                batch = []
        self._insert(connection, batch)
        connection.commit()
        connection.close()
        db.session.remove()
        return time.perf_counter() - started

    @staticmethod
    def _insert(connection: sqlite3.Connection, rows: list[dict]) -> None:
        for row in rows:
            rowid = connection.execute(
                "INSERT INTO meta (key, kind, county, category) VALUES (?, ?, ?, ?)",
                (row["key"], row["kind"], row["county"], row["category"]),
            ).lastrowid
            connection.execute(
                "INSERT INTO docs (rowid, name, place, pinyin, body) VALUES (?, ?, ?, ?, ?)",
                (rowid, row["name"], row["place"], row["pinyin"], row["body"]),
            )
            connection.execute(
                "INSERT INTO names (rowid, suggest) VALUES (?, ?)", (rowid, row["suggest"])
            )

    def write_edited(self, product: Product) -> None:
        from app.search import documents

        (_key, doc), *_ = documents.iter_documents("product", [product.id])
        row = baseline_row(doc)
        connection = sqlite3.connect(self.path)
        rowid = connection.execute("SELECT rowid FROM meta WHERE key = ?", (row["key"],))
        rowid = rowid.fetchone()[0]
        connection.execute("DELETE FROM docs WHERE rowid = ?", (rowid,))
        connection.execute("DELETE FROM names WHERE rowid = ?", (rowid,))
        connection.execute(
            "INSERT INTO docs (rowid, name, place, pinyin, body) VALUES (?, ?, ?, ?, ?)",
            (rowid, row["name"], row["place"], row["pinyin"], row["body"]),
        )
        connection.execute(
            "INSERT INTO names (rowid, suggest) VALUES (?, ?)", (rowid, row["suggest"])
        )
        connection.commit()
        connection.close()
        self.connection = sqlite3.connect(self.path)  # the searching side

    def index_bytes(self) -> int:
        return self.path.stat().st_size

    def open(self) -> None:
        learn_catalogue_words(self.workdir)
        self.connection = sqlite3.connect(self.path)

    @staticmethod
    def _where(filters: dict[str, str]) -> tuple[str, list[str]]:
        sql, params = "", []
        for name, value in filters.items():
            if name == "county":
                sql += " AND (',' || meta.county || ',') LIKE ?"
                params.append(f"%,{value},%")
            else:
                sql += f" AND meta.{name} = ?"
                params.append(value)
        return sql, params

    def search(self, query: str, filters: dict[str, str]) -> int:
        words = query_words(query)
        if not words:
            return 0
        match = " AND ".join(f'"{w}"' for w in words)
        where, params = self._where(filters)
        join = "FROM docs JOIN meta ON meta.rowid = docs.rowid WHERE docs MATCH ?" + where
        self.connection.execute(
            f"SELECT meta.key {join} ORDER BY bm25(docs, 5, 1.5, 4, 1) LIMIT {PER_PAGE}",
            [match, *params],
        ).fetchall()
        groups = self.connection.execute(
            f"SELECT meta.kind, meta.county, meta.category, count(*) {join} GROUP BY 1, 2, 3",
            [match, *params],
        ).fetchall()
        return sum(facet_counts(groups)["kind"].values())

    def suggest(self, prefix: str) -> int:
        words = query_words(prefix)
        if not words:
            return 0
        match = " AND ".join(f'"{w}" *' for w in words)
        return len(
            self.connection.execute(
                "SELECT meta.key, meta.kind FROM names JOIN meta ON meta.rowid = names.rowid "
                "WHERE names MATCH ? ORDER BY rank LIMIT 16",
                (match,),
            ).fetchall()
        )


class PostgresBaseline(Engine):
    """PostgreSQL full-text search over the same segmented documents: a `simple`
    tsvector weighted A (name, pinyin) / B (place) / C (body) in a stored generated
    column with a GIN index, ts_rank_cd, facets by GROUP BY, prefix tsqueries for suggest.
    Its own database, dropped at the end. A baseline only (written before the app's engine
    existed): no idf, no boosts, no spelling, no single-character matches."""

    name = "pg-simple"
    edit_word = "wombatfruit"

    @property
    def url_file(self) -> Path:
        return self.workdir / "postgresql-url.txt"

    def _connect(self):
        import psycopg

        return psycopg.connect(self.url_file.read_text().strip())

    def build(self) -> float:
        import psycopg

        name = f"gi_bench_{uuid.uuid4().hex[:10]}"
        admin_url = PG_ADMIN_URL.replace("+psycopg", "")
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self.url_file.write_text(admin_url.rsplit("/", 1)[0] + "/" + name)
        forget_text_caches()
        started = time.perf_counter()
        learn_catalogue_words(self.workdir)
        with self._connect() as connection:
            connection.execute(
                """
                CREATE TABLE docs (
                    id serial PRIMARY KEY, key text UNIQUE NOT NULL, kind text NOT NULL,
                    counties text[] NOT NULL, category text NOT NULL,
                    name text, place text, pinyin text, body text, suggest text,
                    tsv tsvector GENERATED ALWAYS AS (
                        setweight(to_tsvector('simple', coalesce(name, '')), 'A')
                        || setweight(to_tsvector('simple', coalesce(pinyin, '')), 'A')
                        || setweight(to_tsvector('simple', coalesce(place, '')), 'B')
                        || setweight(to_tsvector('simple', coalesce(body, '')), 'C')
                    ) STORED,
                    suggest_tsv tsvector GENERATED ALWAYS AS (
                        to_tsvector('simple', coalesce(suggest, ''))) STORED
                )
                """
            )
            columns = "key, kind, counties, category, name, place, pinyin, body, suggest"
            with connection.cursor().copy(f"COPY docs ({columns}) FROM STDIN") as copy:
                for row in baseline_documents():
                    copy.write_row(self._values(row))
            connection.execute("CREATE INDEX docs_tsv ON docs USING gin (tsv)")
            connection.execute("CREATE INDEX docs_suggest ON docs USING gin (suggest_tsv)")
            connection.execute("ANALYZE docs")
        db.session.remove()
        return time.perf_counter() - started

    @staticmethod
    def _values(row: dict) -> tuple:
        counties = [c for c in row["county"].split(",") if c]
        return (
            row["key"],
            row["kind"],
            counties,
            row["category"],
            row["name"],
            row["place"],
            row["pinyin"],
            row["body"],
            row["suggest"],
        )

    def write_edited(self, product: Product) -> None:
        from app.search import documents

        (_key, doc), *_ = documents.iter_documents("product", [product.id])
        values = self._values(baseline_row(doc))
        with self._connect() as connection:
            connection.execute(
                "UPDATE docs SET kind = %s, counties = %s, category = %s, name = %s,"
                " place = %s, pinyin = %s, body = %s, suggest = %s WHERE key = %s",
                (*values[1:], values[0]),
            )
        self.connection = self._connect()  # the searching side (it knows the words)
        self.connection.autocommit = True

    def index_bytes(self) -> int:
        with self._connect() as connection:
            return connection.execute("SELECT pg_total_relation_size('docs')").fetchone()[0]

    def open(self) -> None:
        learn_catalogue_words(self.workdir)
        self.connection = self._connect()
        self.connection.autocommit = True

    def close(self) -> None:
        import psycopg

        if not self.url_file.exists():
            return
        name = self.url_file.read_text().strip().rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def search(self, query: str, filters: dict[str, str]) -> int:
        words = query_words(query)
        if not words:
            return 0
        where, params = "tsv @@ q", []
        for name, value in filters.items():
            where += " AND %s = ANY(counties)" if name == "county" else f" AND {name} = %s"
            params.append(value)
        source = f"FROM docs, plainto_tsquery('simple', %s) q WHERE {where}"
        self.connection.execute(
            f"SELECT key {source} ORDER BY ts_rank_cd(tsv, q) DESC LIMIT {PER_PAGE}",
            [" ".join(words), *params],
        ).fetchall()
        groups = self.connection.execute(
            f"SELECT kind, array_to_string(counties, ','), category, count(*) {source}"
            " GROUP BY 1, 2, 3",
            [" ".join(words), *params],
        ).fetchall()
        return sum(facet_counts(groups)["kind"].values())

    def suggest(self, prefix: str) -> int:
        words = query_words(prefix)
        if not words:
            return 0
        tsquery = " & ".join("'" + w.replace("'", "''") + "':*" for w in words)
        return len(
            self.connection.execute(
                "SELECT key, kind FROM docs WHERE suggest_tsv @@ to_tsquery('simple', %s) LIMIT 16",
                (tsquery,),
            ).fetchall()
        )

    def other_rss_mb(self) -> float:
        backend = self.connection.execute("SELECT pg_backend_pid()").fetchone()[0]
        return peak_rss_mb(backend)


class AppPostgresEngine(Engine):
    """The app's own PostgreSQL engine (SEARCH_BACKEND=postgresql) through the public
    interface: `flask search reindex`'s rebuild_index(), search(), suggest(). Its catalogue
    (migrations, seed, the same synthetic products) is in a throwaway database of its own,
    dropped at the end. An edit is searchable when its commit returns: the listing's
    transaction writes the document."""

    name = "postgresql"
    edit_word = "numbatfruit"
    uses_shared_catalogue = False

    @property
    def url_file(self) -> Path:
        return self.workdir / "app-postgresql-url.txt"

    def prepare(self, docs: int):
        import psycopg

        kept = os.environ.get("BENCH_PG_DATABASE")
        if kept:  # a catalogue generated by an earlier run: brought to the current schema
            from flask_migrate import upgrade

            self.url_file.write_text(kept)
            app = self.serving_app()
            with app.app_context():
                upgrade(directory=str(ROOT / "migrations"))
            return app
        name = f"gi_bench_{uuid.uuid4().hex[:10]}"
        admin_url = PG_ADMIN_URL.replace("+psycopg", "")
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self.url_file.write_text(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)
        app = self.serving_app()
        build_catalogue(app, docs)
        return app

    def serving_app(self):
        config = bench_config(
            self.url_file.read_text().strip(), self.workdir / "instance-pg", self.workdir / "media"
        )
        config.SEARCH_BACKEND = "postgresql"
        return create_app(config)

    def build(self) -> float:
        from app.search import rebuild_index

        forget_text_caches()
        started = time.perf_counter()
        rebuild_index()
        db.session.remove()
        return time.perf_counter() - started

    def write_edited(self, product: Product) -> None:
        """Nothing to write (the commit did): the searches that follow get a fresh session."""
        db.session.remove()

    def index_bytes(self) -> int:
        return db.session.execute(
            text(
                "SELECT pg_total_relation_size('search_documents')"
                " + pg_total_relation_size('search_terms')"
            )
        ).scalar_one()

    def search(self, query: str, filters: dict[str, str]) -> int:
        from app.search import SearchFilters, search

        results = search(query, SearchFilters(**filters), 1, PER_PAGE)
        assert results.source != "database", "the engine failed: the database answered"
        return results.total

    def suggest(self, prefix: str) -> int:
        from app.search import suggest

        return len(suggest(prefix))

    def other_rss_mb(self) -> float:
        return peak_rss_mb(db.session.execute(text("SELECT pg_backend_pid()")).scalar_one())

    def close(self) -> None:
        import psycopg

        if not self.url_file.exists():
            return
        url = self.url_file.read_text().strip()
        if os.environ.get("BENCH_KEEP_DATABASE") or os.environ.get("BENCH_PG_DATABASE"):
            print(f"  postgresql: kept {url}")
            return
        db_name = url.rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


ENGINES: list[type[Engine]] = [WhooshEngine, Fts5Baseline, PostgresBaseline, AppPostgresEngine]
# --- measuring --------------------------------------------------------------------------


def measure(engine: Engine) -> dict:
    """Latency per query type and of suggest, over ROUNDS rounds; and how many queries of
    each type found something (an engine that finds nothing is fast for a reason)."""
    timings: dict[str, list[float]] = {}
    found: Counter = Counter()
    for _round in range(ROUNDS):
        for group, queries in QUERIES.items():
            for item in queries:
                query, filters = item if isinstance(item, tuple) else (item, {})
                started = time.perf_counter()
                total = engine.search(query, filters)
                timings.setdefault(group, []).append((time.perf_counter() - started) * 1000)
                found[group] += bool(total) and _round == 0
        for prefix in SUGGEST:
            started = time.perf_counter()
            engine.suggest(prefix)
            timings.setdefault("suggest", []).append((time.perf_counter() - started) * 1000)
    return {"timings": timings, "found": dict(found)}


def serve(engine_name: str, workdir: Path) -> None:
    """In a fresh process: warm up, then measure; print the figures as one JSON line."""
    engine = next(e for e in ENGINES if e.name == engine_name)(workdir)
    app = engine.serving_app()
    with app.app_context():
        engine.open()
        measure(engine)  # warm: caches filled, files read, connections made
        measured = measure(engine)
        timings = measured["timings"]
        queries = [t for group, ts in timings.items() if group != "suggest" for t in ts]
        figures = {
            "groups": {g: [percentile(ts, 50), percentile(ts, 95)] for g, ts in timings.items()},
            "all": [percentile(queries, 50), percentile(queries, 95)],
            "found": measured["found"],
            "rss_mb": peak_rss_mb(),
            "other_rss_mb": engine.other_rss_mb(),
        }
    print(json.dumps(figures))


def process_and_children_cpu() -> float:
    """CPU seconds of this process and of its ended children (a rebuild's worker pool)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def run_engine(engine: Engine, app, docs: int) -> dict:
    """Build, edit, then serve in a fresh process. `app`: the shared catalogue's, unless
    the engine prepares a catalogue of its own."""
    app = engine.prepare(docs) or app
    with app.app_context():
        cpu = process_and_children_cpu()
        build = engine.build()
        build_cpu = process_and_children_cpu() - cpu
        edit = engine.edit_searchable()
        size = engine.index_bytes()
        db.session.remove()
    served = subprocess.run(
        [sys.executable, __file__, "--serve", engine.name, str(engine.workdir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if served.returncode:
        sys.stderr.write(served.stderr)
        raise RuntimeError(f"serving {engine.name} failed")
    figures = json.loads(served.stdout.strip().splitlines()[-1])
    return figures | {
        "build_s": build,
        "build_cpu_s": build_cpu,
        "edit_ms": edit * 1000,
        "edit_commit_ms": engine.commit_s * 1000,
        "index_mb": size / 1e6,
    }


# Targets: (documents, engine, what, figure, limit). At 10,000 the earlier bench's own; at
# 100,000 issue 10's. PostgreSQL's apply to the app's engine; the baseline shows the way.
TARGETS: list[tuple[int, str, str, Callable[[dict], float], float]] = [
    (10_000, "whoosh", "query p95 (ms)", lambda f: f["all"][1], 15),
    (10_000, "whoosh", "suggest p95 (ms)", lambda f: f["groups"]["suggest"][1], 10),
    (10_000, "whoosh", "rebuild (s)", lambda f: f["build_s"], 30),
    (10_000, "whoosh", "edit searchable (ms)", lambda f: f["edit_ms"], 1000),
    (10_000, "whoosh", "serving memory (MB)", lambda f: f["rss_mb"], 250),
    (100_000, "whoosh", "rebuild (s)", lambda f: f["build_s"], 120),
    (100_000, "whoosh", "query p95 (ms)", lambda f: f["all"][1], 40),
    (100_000, "postgresql", "query p95 (ms)", lambda f: f["all"][1], 20),
    (100_000, "postgresql", "rebuild (s)", lambda f: f["build_s"], 60),
    (100_000, "postgresql", "edit searchable (ms)", lambda f: f["edit_ms"], 100),
]


def report(docs: int, results: dict[str, dict]) -> None:
    names = list(results)
    print(
        f"\n== {docs:,} documents: "
        + ", ".join(names)
        + f" (load average now {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs)"
    )

    def row(label: str, values: list[str]) -> None:
        print(f"  {label:<26}" + "".join(f"{v:>22}" for v in values))

    row("", names)
    row("build (s)", [f"{r['build_s']:.1f}" for r in results.values()])
    # On a shared machine the wall time depends on the others' load; the CPU time of the
    # building process and its workers much less (PostgreSQL's own work is not in it).
    row("  its CPU (with its workers)", [f"{r['build_cpu_s']:.1f}" for r in results.values()])
    row("edit searchable (ms)", [f"{r['edit_ms']:.0f}" for r in results.values()])
    row("  of which the commit", [f"{r['edit_commit_ms']:.0f}" for r in results.values()])
    row("index size (MB)", [f"{r['index_mb']:.1f}" for r in results.values()])
    memory = [
        f"{r['rss_mb']:.0f}" + (f" + {r['other_rss_mb']:.0f} server" if r["other_rss_mb"] else "")
        for r in results.values()
    ]
    row("serving peak RSS (MB)", memory)
    print("  query p50 / p95 (ms), found: queries of the type that matched anything")
    for group in [*QUERIES, "suggest"]:
        cells = []
        for r in results.values():
            p50, p95 = r["groups"][group]
            found = (
                "" if group == "suggest" else f" {r['found'].get(group, 0)}/{len(QUERIES[group])}"
            )
            cells.append(f"{p50:.1f} / {p95:.1f}{found}")
        row(group, cells)
    row("all queries", [f"{r['all'][0]:.1f} / {r['all'][1]:.1f}" for r in results.values()])
    targets = [t for t in TARGETS if t[0] == docs and t[1] in results]
    if targets:
        print(f"  targets at {docs:,} documents:")
    for _docs, engine, what, figure, limit in targets:
        value = figure(results[engine])
        verdict = "PASS" if value < limit else "MISS"
        print(f"    {engine:<11} {what:<22} {value:9.1f}  < {limit:<6g} {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[10_000], help="sizes")
    parser.add_argument(
        "--engines", nargs="+", default=[e.name for e in ENGINES], help="which engines"
    )
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], Path(args.serve[1]))
        return
    print(f"search benchmark: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    for docs in args.docs:
        workdir = Path(tempfile.mkdtemp(prefix="bench-search-"))
        app = make_app(workdir)
        chosen = [e for e in ENGINES if e.name in args.engines]
        if any(e.uses_shared_catalogue for e in chosen):
            started = time.perf_counter()
            build_catalogue(app, docs)
            print(
                f"{docs:,} documents in {workdir}: catalogue {time.perf_counter() - started:.0f} s"
            )
        results = {}
        for engine_class in chosen:
            engine = engine_class(workdir)
            try:
                results[engine.name] = run_engine(engine, app, docs)
            finally:
                engine.close()
            print(f"  {engine.name}: done (load average {os.getloadavg()[0]:.2f})")
        report(docs, results)


if __name__ == "__main__":
    main()
