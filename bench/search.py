"""Search benchmark: a synthetic catalogue (realistic zh/en names, ~300-character
descriptions) in a fresh SQLite database, indexed by the app's own rebuild, then measured:

  full rebuild time, time until an edit is searchable, query latency p50/p95 for a mixed
  query set (single word, two words, pinyin, faceted), suggest latency, index size, peak
  memory of a process serving search; and the same documents and queries in SQLite FTS5
  over the same jieba-segmented text as the baseline, with the ratios.

    .venv/bin/python bench/search.py                 # 10,000 documents
    .venv/bin/python bench/search.py --docs 100000   # the large run (takes a while)
"""

import argparse
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from app import create_app  # noqa: E402
from app.db import db  # noqa: E402
from app.models import Category, County, Product, PublicationStatus, product_counties  # noqa: E402

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
QUERIES = {
    "single word": ["咖啡", "coffee", "芒果", "lychee", "鸡", "pepper", "椰子", "goat"],
    "two words": ["文昌 鸡", "green tea", "三亚 芒果", "black pig", "万宁 coffee", "sea salt"],
    "pinyin": ["wenchangji", "xinglong", "kafei", "mangguo", "wcj", "qionghai"],
    "faceted": [
        ("咖啡", {"kind": "product", "county": "wanning"}),
        ("mango", {"category": "fruit"}),
        ("鸡", {"county": "wenchang"}),
    ],
}
SUGGEST = ["wen", "文昌", "ka", "man", "qio", "san", "wcj", "green"]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def build_catalogue(app, docs: int) -> None:
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


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def measure_queries(search, suggest) -> dict:
    from app.search import SearchFilters

    timings: dict[str, list[float]] = {}
    for _round in range(5):
        for group, queries in QUERIES.items():
            for item in queries:
                query, filters = item if isinstance(item, tuple) else (item, {})
                started = time.perf_counter()
                results = search(query, SearchFilters(**filters), 1, 24)
                timings.setdefault(group, []).append((time.perf_counter() - started) * 1000)
                assert results.source == "index"
        for prefix in SUGGEST:
            started = time.perf_counter()
            suggest(prefix)
            timings.setdefault("suggest", []).append((time.perf_counter() - started) * 1000)
    return timings


def peak_rss_mb() -> float:
    """VmHWM: peak resident memory of this process image (ru_maxrss would carry over the
    parent's peak across fork+exec on Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


def serve_and_measure(db_url: str, instance: Path, media: Path) -> None:
    """Run in a fresh process: what a worker serving search costs."""
    app = create_app(bench_config(db_url, instance, media))
    from app.search import search, suggest

    with app.app_context():
        measure_queries(search, suggest)  # warm
        timings = measure_queries(search, suggest)
        everything = [t for group, ts in timings.items() if group != "suggest" for t in ts]
        print(
            json.dumps(
                {
                    "groups": {
                        g: [percentile(ts, 50), percentile(ts, 95)] for g, ts in timings.items()
                    },
                    "all": [percentile(everything, 50), percentile(everything, 95)],
                    "peak_rss_mb": peak_rss_mb(),
                }
            )
        )


def fts5_baseline(app, segmented_queries) -> dict:
    """The same documents in SQLite FTS5 over jieba-segmented text (unicode61), plus a
    trigram table to show what it misses."""
    from app.search import documents, text

    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(key, name, body, tokenize='unicode61')"
    )
    connection.execute(
        "CREATE VIRTUAL TABLE docs_tri USING fts5(key, name, body, tokenize='trigram')"
    )

    def seg(value: str) -> str:
        return " ".join(
            w for w, _s, _e in text.segment(text.normalize(value or "").lower()) if w.strip()
        )

    started = time.perf_counter()
    with app.app_context():
        for kind in documents.MODELS:
            for key, doc in documents.iter_documents(kind):
                connection.execute(
                    "INSERT INTO docs VALUES (?, ?, ?)",
                    (str(key), seg(doc["name"]), seg(doc["body"])),
                )
                connection.execute(
                    "INSERT INTO docs_tri VALUES (?, ?, ?)", (str(key), doc["name"], doc["body"])
                )
        db.session.remove()
    connection.commit()
    build = time.perf_counter() - started
    timings = []
    for _round in range(5):
        for query in segmented_queries:
            words = [w for w, _s, _e in text.segment(query.lower()) if w.strip()]
            match = " AND ".join(f'"{w}"' for w in words)
            started = time.perf_counter()
            connection.execute(
                "SELECT key FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 0, 5, 1) LIMIT 24",
                (match,),
            ).fetchall()
            timings.append((time.perf_counter() - started) * 1000)
    trigram_wenchang = connection.execute(
        "SELECT count(*) FROM docs_tri WHERE docs_tri MATCH ?", ('"文昌"',)
    ).fetchone()[0]
    segmented_wenchang = connection.execute(
        "SELECT count(*) FROM docs WHERE docs MATCH ?", ('"文昌"',)
    ).fetchone()[0]
    return {
        "build": build,
        "p50": percentile(timings, 50),
        "p95": percentile(timings, 95),
        "trigram_wenchang": trigram_wenchang,
        "segmented_wenchang": segmented_wenchang,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=10_000, help="catalogue size")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_and_measure(args.serve[0], Path(args.serve[1]), Path(args.serve[2]))
        return
    from app.search import SearchFilters, lifecycle, search, sync

    workdir = Path(tempfile.mkdtemp(prefix="bench-search-"))
    db_url = f"sqlite:///{workdir / 'catalogue.sqlite3'}"
    app = create_app(bench_config(db_url, workdir / "instance", workdir / "media"))
    print(f"== search benchmark: {args.docs:,} documents (workdir {workdir})")
    started = time.perf_counter()
    build_catalogue(app, args.docs)
    print(f"catalogue built in the database: {time.perf_counter() - started:.1f} s")

    with app.app_context():
        store = lifecycle.get_store()
        summary = sync.rebuild(store)
        db.session.remove()
        ix_size = directory_size(store.current_dir())
        total = sum(summary.counts.values())
        print(
            f"full rebuild: {summary.seconds:.1f} s for {total:,} documents "
            f"({total / summary.seconds:,.0f} docs/s); index size {ix_size / 1e6:.1f} MB"
        )

        # Edit -> searchable: commit through the ORM, then search until it shows.
        product = db.session.scalar(select(Product).where(Product.slug == "synthetic-7"))
        product.name_en = "Zanzibarish Starfruit"
        started = time.perf_counter()
        db.session.commit()
        while True:
            results = search("zanzibarish starfruit", SearchFilters(), 1, 24)
            if any(getattr(h.obj, "slug", None) == "synthetic-7" for h in results.hits):
                break
        edit_seconds = time.perf_counter() - started
        print(
            f"edit searchable after: {edit_seconds * 1000:.0f} ms (commit + outbox applied "
            f"by the searching process)"
        )
        sync.optimize(store, timeout=10)
        db.session.remove()

    served = subprocess.run(
        [
            sys.executable,
            __file__,
            "--serve",
            db_url,
            str(workdir / "instance"),
            str(workdir / "media"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    figures = json.loads(served.stdout.strip().splitlines()[-1])
    print("query latency (ms, p50 / p95, index + loading 24 rows from the database):")
    for group, (p50, p95) in figures["groups"].items():
        print(f"  {group:<12} {p50:7.1f} / {p95:7.1f}")
    p50, p95 = figures["all"]
    print(f"  {'all queries':<12} {p50:7.1f} / {p95:7.1f}")
    print(f"peak memory of a process serving search: {figures['peak_rss_mb']:.0f} MB")

    flat = [q if isinstance(q, str) else q[0] for qs in QUERIES.values() for q in qs]
    baseline = fts5_baseline(app, flat)
    print(
        f"FTS5 baseline (unicode61 over jieba-segmented text): build {baseline['build']:.1f} s"
        f", query p50 {baseline['p50']:.2f} ms / p95 {baseline['p95']:.2f} ms"
    )
    print(
        f"  ratios Whoosh/FTS5: build {summary.seconds / baseline['build']:.1f}x, "
        f"query p50 {p50 / baseline['p50']:.1f}x, p95 {p95 / baseline['p95']:.1f}x "
        f"(Whoosh figures include facets, snippets and loading rows)"
    )
    print(
        f"  FTS5 trigram tokenizer: '文昌' matches {baseline['trigram_wenchang']} documents "
        f"(2 characters < 3), segmented FTS5 matches {baseline['segmented_wenchang']}"
    )
    targets = [
        ("query p95 < 15 ms", p95 < 15),
        ("suggest p95 < 10 ms", figures["groups"]["suggest"][1] < 10),
        ("rebuild < 30 s", summary.seconds < 30),
        ("edit searchable < 1 s", edit_seconds < 1),
        ("worker memory < 250 MB", figures["peak_rss_mb"] < 250),
    ]
    if args.docs == 10_000:
        print(
            "targets at 10,000 documents: "
            + ", ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in targets)
        )


if __name__ == "__main__":
    main()
