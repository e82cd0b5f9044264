"""Both search engines over the seeded catalogue, in one run: a throwaway PostgreSQL
database is migrated and seeded, then each engine is rebuilt and asked the same queries
in process. Prints the PostgreSQL figures beside Whoosh's (the baseline).

    .venv/bin/python bench/search_engines.py [--rounds 200]

Needs the local PostgreSQL server (TEST_PG_ADMIN_URL, as the tests)."""

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from harness import ROOT, timed

sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from app import create_app  # noqa: E402
from app.db import db  # noqa: E402
from app.search import SearchFilters, rebuild_index, service  # noqa: E402
from tests.conftest import make_config  # noqa: E402

ADMIN = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
QUERIES = ["文昌鸡", "wenchangji", "coffee", "海口 lychee", "咖啡粉", "rambutn", "DEMO-TM-0001"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    from flask_migrate import upgrade

    from app.services.seed import SeedLoader

    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    name = f"gi_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        with tempfile.TemporaryDirectory() as work:
            figures = {}
            for engine in ("whoosh", "postgresql"):
                config = make_config(url, Path(work) / engine, Path(work) / "media")
                config.SEARCH_BACKEND = engine
                app = create_app(config)
                with app.app_context():
                    if engine == "whoosh":
                        upgrade(directory=str(ROOT / "migrations"))
                        SeedLoader(app.config["SEED_DIR"], Path(work) / "media").run()
                        db.session.commit()
                    rebuild_index()  # warm: jieba's dictionary, the catalogue's words
                    started = time.perf_counter()
                    summary = rebuild_index()
                    rebuild = time.perf_counter() - started
                    row = {"documents": sum(summary.counts.values()), "rebuild": rebuild}
                    for query in QUERIES:
                        row[query] = timed(
                            lambda q=query: service.search(q, SearchFilters(), 1, 24),
                            args.rounds,
                        )
                    row["suggest wench"] = timed(lambda: service.suggest("wench"), args.rounds)
                    figures[engine] = row
                    db.session.remove()
                    db.engine.dispose()
        base, pg = figures["whoosh"], figures["postgresql"]
        print(f"seeded catalogue: {pg['documents']} documents, {args.rounds} rounds per query")
        print(f"{'':24}{'whoosh (baseline)':>22}{'postgresql':>22}{'pg/whoosh':>11}")
        print(
            f"{'rebuild (s)':24}{base['rebuild']:>22.2f}{pg['rebuild']:>22.2f}"
            f"{pg['rebuild'] / base['rebuild']:>11.2f}"
        )
        for key in [*QUERIES, "suggest wench"]:
            whoosh, postgresql = base[key], pg[key]
            print(
                f"{key + ' p50/p95 ms':24}{f'{whoosh.median:.2f} / {whoosh.p95:.2f}':>22}"
                f"{f'{postgresql.median:.2f} / {postgresql.p95:.2f}':>22}"
                f"{postgresql.median / whoosh.median:>11.2f}"
            )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
