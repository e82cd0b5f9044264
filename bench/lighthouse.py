"""Lighthouse scores (performance, accessibility, best practices, SEO) of the pages people
land on: home, a county, a product, a search and a passport (/q/<code>, what a QR scan
opens).

On a throwaway instance (temp dir, production config, the seed data; the same set-up as
bench/pages.py) under gunicorn on 127.0.0.1, Lighthouse (npm devDependency, `npm install`)
runs headless Chromium (CHROME_PATH, default /usr/bin/chromium) once per page, one after
the other, with its default mobile emulation and simulated throttling. Prints the four
scores per page and every audit that cost a point; exits non-zero when SEO is under 100
(issue 8: SEO 100 on these four pages), or a server or Lighthouse fails.

Run: `make bench-lighthouse` or `.venv/bin/python bench/lighthouse.py [--lang en-US]`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # bench/ is not a package: on sys.path above

LIGHTHOUSE = harness.ROOT / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"
PASSPORT_OF = "wenchang-chicken"


def run_in_checkout(args: list[str], env: dict, timeout: int) -> subprocess.CompletedProcess:
    """Run a command from the checkout's root, its output captured as text; the caller reads
    the return code (a failure is a BenchError there, with the output)."""
    return subprocess.run(
        args,
        cwd=harness.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def passport_code(env: dict) -> str:
    """The short code of a seeded product, asked of the app itself (codes.code_for)."""
    script = (
        "from app import create_app; from app.db import db; from app.models import Product;"
        "from app.services import codes; from sqlalchemy import select\n"
        "with create_app().app_context():\n"
        f"    p = db.session.scalar(select(Product).where(Product.slug == {PASSPORT_OF!r}))\n"
        "    print(codes.code_for(p))"
    )
    done = run_in_checkout([str(harness.VENV_BIN / "python"), "-c", script], env, timeout=120)
    code = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0 or not re.fullmatch(r"[0-9A-Z]{8}", code):
        raise harness.BenchError(f"no passport code:\n{done.stdout}{done.stderr}")
    return code


def run_lighthouse(url: str, lang: str, out: Path) -> dict:
    env = dict(os.environ, CHROME_PATH=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
    args = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={out}",
        "--quiet",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={CHROME_FLAGS} --lang={lang} --accept-lang={lang}",
    ]
    done = run_in_checkout(args, env, timeout=300)
    if done.returncode != 0 or not out.exists():
        raise harness.BenchError(
            f"lighthouse failed on {url}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return json.loads(out.read_text())


def lost_points(report: dict, category: str) -> list[str]:
    """Audits of a category that scored under 1, as 'id: title'."""
    audits = report["audits"]
    lost = []
    for ref in report["categories"][category]["auditRefs"]:
        audit = audits[ref["id"]]
        if ref["weight"] and audit.get("score") is not None and audit["score"] < 1:
            lost.append(f"{ref['id']} ({audit['score']:.2f}): {audit['title']}")
    return lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", default="zh-CN", help="browser language (Accept-Language)")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        print("lighthouse missing: run `npm install` (package.json devDependency)", file=sys.stderr)
        return 2
    return harness.run_bench(
        "bench-lighthouse-", lambda tmp, servers: measure(tmp, servers, args.lang)
    )


def measure(tmp: Path, servers: list[subprocess.Popen], lang: str) -> int:
    """Scores of each page; exit code 1 unless every page scores 100 for SEO."""
    port = harness.free_port()
    env = harness.app_env(tmp / "instance", port)
    harness.build_instance(env)
    code = passport_code(env)
    servers.append(harness.start_gunicorn(["--workers", "2"], port, env, tmp))
    base = f"http://127.0.0.1:{port}"
    pages = {
        "home": "/",
        "county": "/counties/wenchang",
        "product": "/products/wenchang-chicken",
        "search": "/search?q=coffee",
        "passport": f"/q/{code}",
    }
    for path in pages.values():  # render once so Lighthouse sees cached pages
        harness.get(base + path)
    print(f"Lighthouse {lighthouse_version()}, mobile, Accept-Language {lang}")
    print(f"{'page':<10} {'perf':>5} {'a11y':>5} {'best':>5} {'seo':>5}  url")
    lost: dict[str, list[str]] = {}
    seo_ok = True
    for label, path in pages.items():
        report = run_lighthouse(base + path, lang, tmp / f"{label}.json")
        scores = [round(100 * (report["categories"][c]["score"] or 0)) for c in CATEGORIES]
        print(f"{label:<10} {scores[0]:>5} {scores[1]:>5} {scores[2]:>5} {scores[3]:>5}  {path}")
        seo_ok &= scores[3] == 100
        for category in CATEGORIES:
            for item in lost_points(report, category):
                lost.setdefault(f"{category}: {item}", []).append(label)
    if lost:
        print("\nAudits that cost points (page list):")
        for item, labels in sorted(lost.items()):
            print(f"  {item}  [{', '.join(labels)}]")
    return 0 if seo_ok else 1


def lighthouse_version() -> str:
    done = subprocess.run(
        [str(LIGHTHOUSE), "--version"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
