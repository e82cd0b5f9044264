"""Bulk import figures for the kinds officials enter by the hundred: the dry run and the
import of a CSV file of ROWS new rows per kind, on a migrated and seeded
SQLite copy. Rows name seed listings (products, enterprises, GI signs). Prints its figures.

    .venv/bin/python bench/bulk.py
"""

import sys
import tempfile
from itertools import cycle, islice
from pathlib import Path

from harness import ROOT, timed

sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app import create_app  # noqa: E402
from app.db import db  # noqa: E402
from app.models import Enterprise, Product  # noqa: E402
from app.services import bulk  # noqa: E402
from app.services.seed import SeedLoader  # noqa: E402
from tests.admin_support import make_users, provincial  # noqa: E402
from tests.conftest import make_config  # noqa: E402
from tests.sheet_files import csv_file  # noqa: E402

ROWS = 1000


def files() -> dict[str, bytes]:
    """kind -> a CSV file of ROWS new rows naming the seed's listings."""
    products = [p.slug for p in db.session.scalars(select(Product).order_by(Product.id))]
    codes = [e.credit_code for e in db.session.scalars(select(Enterprise).order_by(Enterprise.id))]
    signs = list(bulk.Lookups().sign_references.values())

    def take(values: list[str]) -> list[str]:
        return list(islice(cycle(values), ROWS))

    years = [1950 + i // len(products) for i in range(ROWS)]  # before the seed's figures
    return {
        "authorizations": csv_file(
            [
                [f"BENCH-AUTH-{i}", code, sign, "2025-01-15"]
                for i, (code, sign) in enumerate(zip(take(codes), take(signs), strict=True))
            ],
            header=["number", "enterprise", "sign", "valid_from"],
        ),
        "signs": csv_file(
            [
                [p, "gi_trademark", f"BENCH-{i}", f"基准标志{i}"]
                for i, p in enumerate(take(products))
            ],
            header=["product", "regime", "number", "official_name_zh"],
        ),
        "brands": csv_file(
            [
                [f"bench-brand-{i}", f"基准品牌{i}", "enterprise", p]
                for i, p in enumerate(take(products))
            ],
            header=["slug", "name_zh", "kind", "products"],
        ),
        "industry-facts": csv_file(
            [[p, str(year), "基准"] for p, year in zip(take(products), years, strict=True)],
            header=["product", "year", "source"],
        ),
    }


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-bulk-"))
    config = make_config(f"sqlite:///{work / 'db.sqlite3'}", work, work / "media")
    app = create_app(config)
    with app.app_context(), app.test_request_context("/?lang=zh"):
        upgrade(directory=str(ROOT / "migrations"))
        SeedLoader(app.config["SEED_DIR"], work / "media").run()
        db.session.commit()
        make_users()
        reviewer = provincial()
        db.session.commit()  # the imports below are rolled back, the reviewer stays
        print(f"{'what (' + str(ROWS) + ' new rows, CSV)':40} {'median ms':>10} {'max ms':>8}")
        # Authorizations first: they name signs by product|regime, which the signs file
        # below makes ambiguous. Each file is imported once and kept (on SQLite a released
        # savepoint is committed, so an import cannot simply be rolled back here).
        for kind, data in files().items():
            plan = bulk.dry_run(kind, data, reviewer)
            assert plan.ok and plan.count("create") == ROWS, plan.errors[:3]
            checking = timed(lambda: bulk.dry_run(kind, data, reviewer), 3)  # noqa: B023
            print(f"{kind + ' dry run':40} {checking.median:10.0f} {checking.worst:8.0f}")
            importing = timed(lambda: bulk.import_listings(kind, data, reviewer), 1)  # noqa: B023
            db.session.commit()
            print(f"{kind + ' import':40} {importing.median:10.0f} {importing.worst:8.0f}")


if __name__ == "__main__":
    main()
