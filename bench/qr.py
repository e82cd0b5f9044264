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
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import harness

PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)

# After harness.ROTATION_LUA: each request counted as sent (wrk's own count is of the
# answered ones), and the figures printed as one JSON line.
REQUEST_LUA = (
    f'local user_agent = "{PHONE_UA}"\n'
    + r"""
sent = 0

function request()
  counter = counter + 1
  sent = sent + 1
  local path = paths[(counter % #paths) + 1]
  return wrk.format("GET", path, {["User-Agent"] = user_agent,
                                  ["Accept-Language"] = "zh-CN,zh;q=0.9,en;q=0.8"})
end

function done(summary, latency, requests)
  local total_sent = 0
  for _, thread in ipairs(threads) do total_sent = total_sent + thread:harness.get("sent") end
  local errors = summary.errors
  io.write(string.format(
    "JSON{\"requests\": %d, \"sent\": %d, \"duration_us\": %d, \"bytes\": %d, " ..
    "\"p50_ms\": %.2f, \"p90_ms\": %.2f, \"p99_ms\": %.2f, \"max_ms\": %.2f, " ..
    "\"errors\": {\"connect\": %d, \"read\": %d, \"write\": %d, " ..
    "\"status\": %d, \"timeout\": %d}}\n",
    summary.requests, total_sent, summary.duration, summary.bytes,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
"""
)

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


def run_wrk(url: str, script: Path, duration: int, connections: int) -> dict:
    """The figures REQUEST_LUA's done() prints, with req/s and the error total."""
    out = harness.wrk_output(url, connections, duration, script=script)
    match = re.search(r"^JSON(\{.*\})$", out, re.M)
    if not match:
        raise harness.BenchError(out)
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
        raise harness.BenchError(f"only {ok} of {total} exact-check requests succeeded")
    return time.monotonic() - started


def scans_in(db_path: Path) -> dict:
    with sqlite3.connect(db_path) as conn:
        return dict(conn.execute("SELECT kind, SUM(count) FROM scan_counts GROUP BY kind"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=256)
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} is missing: ./scripts/ensure-debian-packages wrk nginx-light")
    return harness.run_bench("bench-qr-", lambda work, servers: measure(work, servers, args))


def measure(work: Path, servers: list[subprocess.Popen], args: argparse.Namespace) -> int:
    work.chmod(0o755)  # nginx workers (www-data) read the static copy
    app_port, nginx_port = harness.free_port(), harness.free_port()
    base = f"http://127.0.0.1:{app_port}"
    db_path = work / "instance" / "db.sqlite3"
    env = harness.app_env(
        work / "instance", app_port, DATABASE_URL=f"sqlite:///{db_path}", SCAN_FLUSH_SECONDS="1"
    )
    (work / "instance").mkdir()
    harness.build_instance(env)
    with sqlite3.connect(db_path) as conn:
        codes = [
            row[0]
            for row in conn.execute(
                "SELECT s.code FROM short_codes s JOIN products p ON p.id = s.target_id "
                "WHERE s.target_type = 'product' AND p.status = 'published' ORDER BY s.code"
            )
        ]
    script = harness.rotation_script(work, "qr", [f"/q/{c}" for c in codes], REQUEST_LUA)

    gunicorn_log = work / "gunicorn.log"
    gunicorn = harness.start(
        [
            str(harness.VENV_BIN / "gunicorn"),
            *("--workers", "2", "--threads", "8", "--worker-class", "gthread"),
            *("--bind", f"127.0.0.1:{app_port}", "--backlog", "2048", "--log-level", "warning"),
            "wsgi:app",
        ],
        gunicorn_log,
        env,
    )
    servers.append(gunicorn)
    harness.wait_until_up(f"{base}/healthz", gunicorn, gunicorn_log)
    # Warm every passport once in each worker (counted as scans too; subtracted below).
    warm = 0
    for _ in range(4):
        for code in codes:
            harness.get(f"{base}/q/{code}", user_agent=PHONE_UA)
            warm += 1
    html_size, image_size, first_view = transfer_size(base, f"/q/{codes[0]}")

    www = work / "www" / "q"
    www.mkdir(parents=True)
    (work / "tmp").mkdir()
    (www / codes[0]).write_bytes(harness.get(f"{base}/q/{codes[0]}", user_agent=PHONE_UA))
    warm += 1
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF % {"dir": work, "port": nginx_port})
    nginx_log = work / "nginx-error.log"
    nginx = harness.start(["nginx", "-c", str(conf), "-g", "daemon off;"], work / "nginx.out", None)
    servers.append(nginx)
    harness.wait_until_up(f"http://127.0.0.1:{nginx_port}/q/{codes[0]}", nginx, nginx_log)
    static_script = harness.rotation_script(work, "static", [f"/q/{codes[0]}"], REQUEST_LUA)

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
    harness.stop(nginx)
    harness.stop(gunicorn, seconds=60)  # graceful: workers flush their scan buffers on the way out

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
