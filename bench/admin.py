"""Back-office figures: password hashing cost, sign-in latency, and the time to render the
pages officials use most, on a migrated and seeded SQLite copy. Prints its figures.

    .venv/bin/python bench/admin.py
"""

import sys
import tempfile
from pathlib import Path

from harness import ROOT, timed

sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from app.db import db  # noqa: E402
from app.services import accounts  # noqa: E402
from app.services.seed import SeedLoader  # noqa: E402
from tests.admin_support import csrf_token, login, make_users  # noqa: E402
from tests.conftest import make_config  # noqa: E402


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-admin-"))
    config = make_config(f"sqlite:///{work / 'db.sqlite3'}", work, work / "media")
    app = create_app(config)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        SeedLoader(app.config["SEED_DIR"], work / "media").run()
        db.session.commit()
        make_users()
        print(f"{'what':48} {'median ms':>10} {'max ms':>8}")
        hashing = timed(lambda: accounts.hash_password("Correct-horse-battery-9"), 10)
        print(f"{'scrypt password hash':48} {hashing.median:10.1f} {hashing.worst:8.1f}")

        def sign_in():
            assert login(app.test_client(), "editor_a").status_code == 302

        signing_in = timed(sign_in, 10)
        print(
            f"{'sign in (GET form + POST, incl. hash check)':48} "
            f"{signing_in.median:10.1f} {signing_in.worst:8.1f}"
        )
        pages = {
            "reviewer": [
                "/admin/",
                "/admin/products/",
                "/admin/products/1/edit",
                "/admin/signs/1/edit",
            ],
            "editor_a": ["/admin/", "/admin/products/", "/admin/products/new"],
            "admin": ["/admin/audit/"],
        }
        for who, urls in pages.items():
            client = app.test_client()
            login(client, who)
            csrf_token(client, "/admin/")
            for url in urls:
                page = timed(lambda c=client, u=url: c.get(u), 30)
                print(f"{who + ' GET ' + url:48} {page.median:10.1f} {page.worst:8.1f}")


if __name__ == "__main__":
    main()
