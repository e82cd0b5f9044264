"""Page benchmark: how fast and how heavy are the three pages people land on?

What it measures, on a throwaway instance (temp dir, production config, the seed data):

1. Throughput and latency of the home page, a county page and a product page under
   gunicorn, with wrk at 64 connections (`wrk -t2 -c64 -d10s`, Chinese Accept-Language;
   the chosen sync workers close each connection, nginx keeps them alive). Public pages
   come out of the per-process page cache and, once cached, are answered by the WSGI fast
   path (app/caching/middleware.py) before Flask's request cycle: this is the cost of serving
   a cached body, not of rendering.
2. The same product page saved as a static file and served by nginx on the same machine:
   the physical ceiling of this box for that many bytes. The ratio gunicorn / nginx says
   how much of that ceiling the app reaches (target >= 4 %), and the product-page p99 must
   stay under 60 ms at 64 connections.
3. The first view on a phone (390x844, DPR 3, empty cache) in Chromium via Playwright,
   up to `load` and then network idle (lazy images of the first screen): the bytes of
   every response, split into html / css / js / image, and the gzip size of the HTML
   (what a compressing proxy would send). Target: the product page under 100 KB.

Why: the site is read on phones, often on slow mobile data, and is served by a small
machine (2 cores); these numbers catch a page that grows or a request path that slows.

Everything runs on 127.0.0.1 only, each wrk run is time-bounded, the whole run takes
about one to two minutes (`--compare-workers` adds the worker trial, ~30 s more), and all
processes and temp dirs are cleaned up on the way out. Exits non-zero if a server fails
to start or wrk reports socket errors or error responses.

Run: `make bench` (installs wrk and nginx-light) or `.venv/bin/python bench/pages.py`.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import harness

PAGES = {  # label -> path
    "home": "/",
    "county wenchang": "/counties/wenchang",
    "product wenchang-chicken": "/products/wenchang-chicken",
}
PRODUCT = "product wenchang-chicken"
NGINX_LABEL = "nginx static product"

WRK_CONNECTIONS, WRK_SECONDS = 64, 10
TRIAL_SECONDS = 5  # per candidate in --compare-workers

TARGET_P99_MS = 60.0
TARGET_SHARE_OF_NGINX = 4.0  # percent
TARGET_FIRST_VIEW_KB = 100.0

# Gunicorn worker settings tried on this 2-core machine (`--compare-workers`: product page,
# wrk -t2 -c64 keep-alive, 5 s each), quiet machine, 2026-11-25, with the WSGI fast path for
# cached pages (then app/public/fastpath.py) (req/s, p99 ms):
#   --workers 3 (sync)                                12193 / 9
#   --workers 2 --worker-class gthread --threads 4    11214 / 16
#   --workers 4 --worker-class gthread --threads 2     9982 / 28
# (Before the fast path, through Flask's full request cycle: 3713 / 21, 3656 / 41, 3168 / 46.)
# 3 sync workers win: a cached page is pure Python work, threads only add GIL hand-offs, and
# a gthread worker can take most of wrk's keep-alive connections while its sibling idles
# (the tail). Sync workers don't do keep-alive, so each wrk request opens a new connection:
# cheap on loopback, and behind nginx (upstream HTTP/1.0 by default) it is how gunicorn runs
# anyway. Caveat: while another process loads the CPU, sync drops well below gthread (each
# request waits for a time slice); the script prints "CPU busy" before and after a run.
WORKER_CANDIDATES = {
    "3 sync": ["--workers", "3", "--worker-class", "sync"],
    "2 gthread x4": ["--workers", "2", "--worker-class", "gthread", "--threads", "4"],
    "4 gthread x2": ["--workers", "4", "--worker-class", "gthread", "--threads", "2"],
}
CHOSEN_WORKERS = "3 sync"


def warm(base: str, rounds: int = 8) -> None:
    """Fill every worker's page cache in both languages before measuring."""
    for path in PAGES.values():
        for lang in ("zh-CN", "en"):
            for _ in range(rounds):
                harness.get(base + path, lang)


# --- nginx ---------------------------------------------------------------------------

NGINX_CONF = """\
daemon off;
worker_processes auto;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ text/html html; }}
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
    }}
}}
"""


def start_nginx(html: bytes, port: int, tmp: Path) -> subprocess.Popen:
    """Serve the product page as a static file; nginx workers (nobody) must read it."""
    www = tmp / "www"
    www.mkdir()
    (www / "product.html").write_bytes(html)
    for path in (tmp, www):
        path.chmod(0o755)
    (www / "product.html").chmod(0o644)
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=port))
    log = tmp / "nginx-stdout.log"
    error_log = tmp / "nginx-error.log"
    proc = harness.start(["nginx", "-c", str(conf), "-p", str(tmp), "-e", str(error_log)], log)
    harness.wait_until_up(f"http://127.0.0.1:{port}/product.html", proc, error_log)
    return proc


# --- wrk -----------------------------------------------------------------------------


def page_load(url: str, seconds: int = WRK_SECONDS) -> harness.LoadResult:
    """wrk at the page benchmark's settings, Chinese Accept-Language."""
    return harness.run_wrk(url, WRK_CONNECTIONS, seconds, lang=harness.ACCEPT_LANGUAGE)


# --- first view in a phone browser ---------------------------------------------------


@dataclass
class FirstView:
    by_type: dict  # kind -> [count, bytes]
    html_bytes: int
    html_gzip_bytes: int

    @property
    def total(self) -> int:
        return sum(nbytes for _, nbytes in self.by_type.values())


def kind_of(content_type: str, url: str) -> str:
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "text/html":
        return "html"
    if ctype == "text/css":
        return "css"
    if "javascript" in ctype or url.split("?")[0].endswith(".js"):
        return "js"
    if ctype.startswith("image/"):
        return "image"
    if ctype.startswith("font/") or "font" in ctype:
        return "font"
    return "other"


def first_views(base: str) -> dict[str, FirstView]:
    from playwright.sync_api import sync_playwright

    views = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=harness.CHROMIUM, args=harness.CHROMIUM_ARGS)
        try:
            for label, path in PAGES.items():
                context = browser.new_context(  # a fresh context: empty cache, a first view
                    viewport={"width": 390, "height": 844},
                    device_scale_factor=3,
                    is_mobile=True,
                    has_touch=True,
                    locale=harness.ACCEPT_LANGUAGE,
                )
                try:
                    views[label] = measure_page(context.new_page(), base + path)
                finally:
                    context.close()
        finally:
            browser.close()
    return views


def measure_page(page, url: str) -> FirstView:
    responses = []
    page.on("response", lambda response: responses.append(response))
    main = page.goto(url, wait_until="load", timeout=30_000)
    if main is None or main.status != 200:
        raise harness.BenchError(f"browser got {main and main.status} for {url}")
    # Lazy images on the first screen and the favicon may start just after `load`; without
    # this the home page counted 5 to 8 responses from run to run, with it always 12.
    page.wait_for_load_state("networkidle", timeout=15_000)
    by_type: dict[str, list[int]] = {}
    html = b""
    for response in responses:
        if not response.url.startswith("http") or 300 <= response.status < 400:
            continue
        body = response.body()
        kind = kind_of(response.headers.get("content-type", ""), response.url)
        count_bytes = by_type.setdefault(kind, [0, 0])
        count_bytes[0] += 1
        count_bytes[1] += len(body)
        if response is main or response.url == main.url:
            html = body
    return FirstView(by_type, len(html), len(gzip.compress(html, compresslevel=6)))


def print_first_view(label: str, view: FirstView) -> None:
    parts = ", ".join(
        f"{kind} {count}x {nbytes / 1024:.1f}"
        for kind, (count, nbytes) in sorted(view.by_type.items(), key=lambda kv: -kv[1][1])
    )
    print(
        f"  {label:<26} {view.total / 1024:>6.1f} KB  ({parts} KB); "
        f"HTML {view.html_bytes / 1024:.1f} KB, gzip -6 {view.html_gzip_bytes / 1024:.1f} KB"
    )


# --- the run -------------------------------------------------------------------------


def compare_workers(env: dict, tmp: Path) -> str:
    """Short product-page trial of each candidate setting; returns the fastest."""
    print(f"Worker trial: {PAGES[PRODUCT]}, wrk -c{WRK_CONNECTIONS} {TRIAL_SECONDS}s each")
    results = {}
    for name, workers in WORKER_CANDIDATES.items():
        port = harness.free_port()
        proc = harness.start_gunicorn(workers, port, env, tmp)
        try:
            base = f"http://127.0.0.1:{port}"
            warm(base)
            results[name] = page_load(base + PAGES[PRODUCT], TRIAL_SECONDS)
            harness.print_load(name, results[name])
        finally:
            harness.stop(proc)
    best = max(results, key=lambda name: results[name].rps)
    print(f"  fastest: {best}")
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--compare-workers",
        action="store_true",
        help="first try each gunicorn worker setting and use the fastest",
    )
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            print(
                f"{tool} missing: run ./scripts/ensure-debian-packages wrk nginx-light",
                file=sys.stderr,
            )
            return 2

    return harness.run_bench("bench-pages-", lambda tmp, servers: measure(tmp, servers, args))


def measure(tmp: Path, servers: list[subprocess.Popen], args: argparse.Namespace) -> int:
    port = harness.free_port()
    env = harness.app_env(tmp / "instance", port)
    started = time.monotonic()
    harness.build_instance(env)
    print(f"Instance seeded in {time.monotonic() - started:.1f} s; {os.cpu_count()} CPUs")
    harness.print_noise("before the run, nothing of ours running")

    chosen = compare_workers(env, tmp) if args.compare_workers else CHOSEN_WORKERS
    servers.append(harness.start_gunicorn(WORKER_CANDIDATES[chosen], port, env, tmp))
    base = f"http://127.0.0.1:{port}"
    warm(base)

    print(
        f"wrk -t{harness.WRK_THREADS} -c{WRK_CONNECTIONS} -d{WRK_SECONDS}s, "
        f"Accept-Language: {harness.ACCEPT_LANGUAGE}; "
        f"gunicorn {' '.join(WORKER_CANDIDATES[chosen])}"
    )
    load = {}
    for label, path in PAGES.items():
        load[label] = page_load(base + path)
        harness.print_load(label, load[label])

    nginx_port = harness.free_port()
    nginx = start_nginx(harness.get(base + PAGES[PRODUCT]), nginx_port, tmp)
    servers.append(nginx)
    load[NGINX_LABEL] = page_load(f"http://127.0.0.1:{nginx_port}/product.html")
    harness.print_load(NGINX_LABEL, load[NGINX_LABEL])
    harness.stop(nginx)

    harness.print_noise("after the load tests, gunicorn idle")
    print("First view on a phone (390x844 @3x, Chromium, empty cache):")
    views = first_views(base)
    for label, view in views.items():
        print_first_view(label, view)

    print_summary(load, views)
    return 0


def print_summary(load: dict[str, harness.LoadResult], views: dict[str, FirstView]) -> None:
    print()
    print(f"{'page':<26}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'first view KB':>15}")
    for label, result in load.items():
        kb = f"{views[label].total / 1024:.1f}" if label in views else "-"
        print(f"{label:<26}{result.rps:>9.0f}{result.p50_ms:>9.2f}{result.p99_ms:>9.2f}{kb:>15}")
    product, ceiling = load[PRODUCT], load[NGINX_LABEL]
    share = 100 * product.rps / ceiling.rps
    print(
        f"product / nginx = {share:.1f} %   (target >= {TARGET_SHARE_OF_NGINX:g} %: "
        f"{harness.pass_fail(share >= TARGET_SHARE_OF_NGINX)})   "
        f"p99 target < {TARGET_P99_MS:g} ms: {harness.pass_fail(product.p99_ms < TARGET_P99_MS)}   "
        f"first view < {TARGET_FIRST_VIEW_KB:g} KB: "
        f"{harness.pass_fail(views[PRODUCT].total / 1024 < TARGET_FIRST_VIEW_KB)}"
    )


if __name__ == "__main__":
    sys.exit(main())
