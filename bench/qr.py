"""Benchmark the QR landing pages (passports) under gunicorn against nginx's static ceiling.

Run: .venv/bin/python bench/qr.py [--duration 30] [--connections 256]
(needs wrk and nginx-light: ./scripts/ensure-debian-packages wrk nginx-light)

1. A fresh SQLite database in a temporary folder: migrate, seed.
2. gunicorn (2 workers x 8 threads, gthread; the README's production line) on 127.0.0.1.
3. wrk with a Lua script cycling through every product's /q/<code> with a phone User-Agent,
   counting the requests it sends; then the same passport saved as a file and served by
   nginx, in the same run, as the ceiling; then a light-load run (8 connections) for the
   server's own latency.
4. gunicorn is stopped gracefully (workers flush their buffered scan counts on exit) and
   the scans stored in the database are compared with the requests wrk sent.
Prints requests/s, p50/p99, errors, the ratio to nginx, the passport's transfer size, and
scans counted vs requests sent."""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)

WRK_SCRIPT = r"""
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local threads = {}
counter = 0
sent = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = id * 7
end

function request()
  counter = counter + 1
  sent = sent + 1
  local path = paths[(counter %% #paths) + 1]
  return wrk.format("GET", path, {["User-Agent"] = "%(ua)s",
                                  ["Accept-Language"] = "zh-CN,zh;q=0.9,en;q=0.8"})
end

function done(summary, latency, requests)
  local total_sent = 0
  for _, thread in ipairs(threads) do total_sent = total_sent + thread:get("sent") end
  local errors = summary.errors
  io.write(string.format(
    "JSON{\"requests\": %%d, \"sent\": %%d, \"duration_us\": %%d, \"bytes\": %%d, " ..
    "\"p50_ms\": %%.2f, \"p90_ms\": %%.2f, \"p99_ms\": %%.2f, \"max_ms\": %%.2f, " ..
    "\"errors\": {\"connect\": %%d, \"read\": %%d, \"write\": %%d, " ..
    "\"status\": %%d, \"timeout\": %%d}}\n",
    summary.requests, total_sent, summary.duration, summary.bytes,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
"""

NGINX_CONF = """
worker_processes 2;
pid %(dir)s/nginx.pid;
error_log %(dir)s/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %(dir)s/tmp;
  proxy_temp_path %(dir)s/tmp;
  fastcgi_temp_path %(dir)s/tmp;
  uwsgi_temp_path %(dir)s/tmp;
  scgi_temp_path %(dir)s/tmp;
  server {
    listen 127.0.0.1:%(port)d;
    root %(dir)s/www;
    location / { default_type text/html; }
  }
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def run_wrk(url: str, script: Path, duration: int, connections: int, threads: int = 2) -> dict:
    done = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
    )
    out = done.stdout
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stdout}{done.stderr}")
    match = re.search(r"^JSON(\{.*\})$", out, re.M)
    if not match:
        raise RuntimeError(out)
    result = json.loads(match.group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors_total"] = sum(result["errors"].values())
    return result


def transfer_size(base: str, path: str) -> tuple[int, int, int]:
    """(html bytes incl. headers, image bytes incl. headers, total) for a first view."""
    request = urllib.request.Request(
        base + path, headers={"User-Agent": PHONE_UA, "Accept-Language": "zh-CN"}
    )
    with urllib.request.urlopen(request) as response:
        body = response.read()
        html_size = len(body) + len(str(response.headers))
    total_images = 0
    for src in re.findall(rb'<img[^>]+src="([^"]+)"', body):
        with urllib.request.urlopen(base + src.decode()) as image:
            total_images += len(image.read()) + len(str(image.headers))
    return html_size, total_images, html_size + total_images


def exact_count_check(base: str, codes: list[str], total: int, clients: int = 64) -> float:
    """Send exactly `total` passport requests from `clients` threads on keep-alive
    connections; returns the elapsed seconds (every response must be a 200)."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    host, port = base.removeprefix("http://").split(":")

    def client(n: int) -> int:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        ok = 0
        for i in range(total // clients):
            connection.request(
                "GET", f"/q/{codes[(n + i) % len(codes)]}", headers={"User-Agent": PHONE_UA}
            )
            response = connection.getresponse()
            response.read()
            ok += response.status == 200
        connection.close()
        return ok

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        ok = sum(pool.map(client, range(clients)))
    if ok != total:
        raise RuntimeError(f"only {ok} of {total} exact-check requests succeeded")
    return time.monotonic() - started


def scans_in(db_path: Path) -> dict:
    with sqlite3.connect(db_path) as conn:
        return dict(conn.execute("SELECT kind, SUM(count) FROM scan_counts GROUP BY kind"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=256)
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} is missing: ./scripts/ensure-debian-packages wrk nginx-light")

    work = Path(tempfile.mkdtemp(prefix="bench-qr-"))
    work.chmod(0o755)  # nginx workers (www-data) read the static copy
    app_port, nginx_port = free_port(), free_port()
    base = f"http://127.0.0.1:{app_port}"
    env = {
        **os.environ,
        "INSTANCE_PATH": str(work / "instance"),
        "APP_ENV": "production",
        "SECRET_KEY": "bench",
        "DATABASE_URL": f"sqlite:///{work / 'instance' / 'db.sqlite3'}",
        "SITE_BASE_URL": base,
        "SCAN_FLUSH_SECONDS": "1",
        "FLASK_APP": "wsgi",
    }
    (work / "instance").mkdir()
    subprocess.run(
        [VENV_BIN / "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    subprocess.run([VENV_BIN / "flask", "seed"], cwd=ROOT, env=env, check=True, capture_output=True)
    db_path = work / "instance" / "db.sqlite3"
    with sqlite3.connect(db_path) as conn:
        codes = [
            row[0]
            for row in conn.execute(
                "SELECT s.code FROM short_codes s JOIN products p ON p.id = s.target_id "
                "WHERE s.target_type = 'product' AND p.status = 'published' ORDER BY s.code"
            )
        ]
    paths_file = work / "paths.txt"
    paths_file.write_text("".join(f"/q/{c}\n" for c in codes))
    script = work / "qr.lua"
    script.write_text(WRK_SCRIPT % {"paths": paths_file, "ua": PHONE_UA})

    gunicorn = subprocess.Popen(
        [
            VENV_BIN / "gunicorn",
            "--workers",
            "2",
            "--threads",
            "8",
            "--worker-class",
            "gthread",
            "--bind",
            f"127.0.0.1:{app_port}",
            "--backlog",
            "2048",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    nginx = None
    try:
        wait_for(f"{base}/healthz")
        # Warm every passport once in each worker (counted as scans too; subtracted below).
        warm = 0
        for _ in range(4):
            for code in codes:
                urllib.request.urlopen(
                    urllib.request.Request(f"{base}/q/{code}", headers={"User-Agent": PHONE_UA})
                ).read()
                warm += 1
        html_size, image_size, first_view = transfer_size(base, f"/q/{codes[0]}")

        www = work / "www" / "q"
        www.mkdir(parents=True)
        (work / "tmp").mkdir()
        (www / codes[0]).write_bytes(
            urllib.request.urlopen(
                urllib.request.Request(f"{base}/q/{codes[0]}", headers={"User-Agent": PHONE_UA})
            ).read()
        )
        warm += 1
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF % {"dir": work, "port": nginx_port})
        nginx = subprocess.Popen(["nginx", "-c", str(conf), "-g", "daemon off;"])
        wait_for(f"http://127.0.0.1:{nginx_port}/q/{codes[0]}")
        static_paths = work / "static-paths.txt"
        static_paths.write_text(f"/q/{codes[0]}\n")
        static_script = work / "static.lua"
        static_script.write_text(WRK_SCRIPT % {"paths": static_paths, "ua": PHONE_UA})

        time.sleep(2.5)  # let the warm-up counts flush
        before = sum(scans_in(db_path).values())
        exact_total = 64 * 300
        exact_seconds = exact_count_check(base, codes, exact_total)
        time.sleep(2.5)  # one flush interval and then some
        exact_stored = sum(scans_in(db_path).values()) - before
        after_exact = before + exact_stored
        app_run = run_wrk(base, script, args.duration, args.connections)
        nginx_run = run_wrk(
            f"http://127.0.0.1:{nginx_port}", static_script, args.duration, args.connections
        )
        light = run_wrk(base, script, 10, 8)
    finally:
        if nginx:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(timeout=20)
        gunicorn.send_signal(signal.SIGTERM)  # graceful: workers flush their scan buffers
        gunicorn.wait(timeout=60)

    counted = scans_in(db_path)
    scans_total = sum(counted.values()) - after_exact
    sent = app_run["sent"] + light["sent"]
    completed = app_run["requests"] + light["requests"]
    ratio = app_run["rps"] / nginx_run["rps"]
    print(
        f"passport mix: {len(codes)} product codes, wrk {args.connections} connections "
        f"{args.duration}s, gunicorn 2 workers x 8 threads (gthread), SQLite"
    )
    for name, run in (
        ("gunicorn /q/<code>", app_run),
        ("nginx static passport", nginx_run),
        ("gunicorn light load (8 conn, 10s)", light),
    ):
        print(
            f"{name:36s} {run['rps']:10.0f} req/s  p50 {run['p50_ms']:7.2f} ms  "
            f"p99 {run['p99_ms']:7.2f} ms  errors {run['errors_total']} {run['errors']}"
        )
    print(f"ratio gunicorn/nginx: {ratio:.2%} (target >= 4%)")
    print(
        f"first view transfer: html {html_size} B + photo {image_size} B = {first_view} B "
        f"(target < 50000 B, uncompressed)"
    )
    print(
        f"exact count check: {exact_total} requests from 64 concurrent keep-alive clients "
        f"in {exact_seconds:.1f}s, scans stored {exact_stored}: "
        f"{'EQUAL' if exact_stored == exact_total else 'LOST ' + str(exact_total - exact_stored)}"
    )
    within = completed <= scans_total <= sent
    print(
        f"wrk runs: scans stored {scans_total}; wrk sent {sent}, completed {completed} "
        f"({sent - completed} in flight or unsent at wrk's cut-off): "
        f"{'within [completed, sent]' if within else 'OUTSIDE [completed, sent]'}; "
        f"all kinds {counted}, warm-up {warm}"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
