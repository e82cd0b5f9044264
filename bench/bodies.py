"""How long a worker spends on a hostile request body before refusing it.

Posts an 8 MiB url-encoded body of 3 million fields (and a few other bodies) to /report and
/admin/login through the app's WSGI callable in this process (no network, so the figure is
the worker's own time), best of --repeat runs. Works on any checkout: run it from the
repository root of the tree to measure (`.venv/bin/python bench/bodies.py`)."""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))

from app import create_app  # noqa: E402
from app.db import db  # noqa: E402
from config import TestingConfig  # noqa: E402

URLENCODED = "application/x-www-form-urlencoded"


def bodies() -> dict[str, tuple[bytes, str]]:
    fields = 3_000_000
    many = "&".join(["a=b"] * (fields // 2)) + "&" + "&".join(["c"] * (fields - fields // 2))
    many_bytes = many.encode()[: 8 * 1024 * 1024]
    return {
        "8 MiB, 3 million fields": (many_bytes, URLENCODED),
        "1 MB in one field": (b"email=" + b"x" * 1_000_000 + b"&password=y", URLENCODED),
        "8 MiB in one field": (b"description=" + b"x" * (8 * 1024 * 1024), URLENCODED),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-bodies-"))
    config = type(
        "BenchConfig",
        (TestingConfig,),
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "INSTANCE_DIR": workdir,
            "MEDIA_ROOT": workdir / "media",
        },
    )
    app = create_app(config)
    app.config["RATELIMIT_ENABLED"] = False
    with app.app_context():
        db.create_all()
    client = app.test_client()
    print(f"{'route':14} {'body':26} {'status':>6} {'best ms':>9}")
    for route in ("/report", "/admin/login"):
        for name, (body, content_type) in bodies().items():
            best, status = float("inf"), 0
            for _ in range(args.repeat):
                started = time.perf_counter()
                response = client.post(route, data=body, content_type=content_type)
                best = min(best, time.perf_counter() - started)
                status = response.status_code
                response.close()
            print(f"{route:14} {name:26} {status:>6} {best * 1000:>9.1f}")


if __name__ == "__main__":
    main()
