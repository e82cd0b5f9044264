"""Figures of the stack (scripts/stack.py: nginx, two gunicorn nodes under supervisord,
PostgreSQL, Redis), brought up on a free port in a temporary run directory and taken down
at the end, every process and file with it (the database gi_stack_bench is dropped).

    python bench/stack.py          (make bench-stack)

1. wrk -c64 -d15s through nginx: a product page vs the same bytes as a static file from the
   same nginx (target: >= 50 % of the static req/s, p99 < 20 ms); home and a county page;
   the search page (not cached by nginx: every request reaches a node).
2. A publish committed by another process, seen through nginx: lag over 20 publishes.
3. kill -9 of node a's gunicorn master during a 20 s wrk run on pages that reach the nodes
   (a session cookie: nginx's cache bypassed): zero non-2xx, node a restarted by
   supervisord, and a second run served by both nodes (nginx's JSON access log).
4. 10,000 passport requests from 64 connections: the stored scan count grows by exactly
   the number of requests answered.
5. The in-app page cache behind nginx: every product and county page in rotation, with
   the cache on and (after a restart of the stack) off.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from harness import (
    ROOT,
    VENV_BIN,
    BenchError,
    LoadResult,
    free_port,
    parse_wrk,
    pass_fail,
    print_load,
    print_noise,
    rotation_script,
    run_wrk,
    wrk_output,
)

sys.path.insert(0, str(ROOT))

STACK = [str(VENV_BIN / "python"), str(ROOT / "scripts" / "stack.py")]
DATABASE = "gi_stack_bench"
PRODUCT = "/products/wenchang-chicken"
COUNTY = "/counties/wenchang"
SEARCH = "/search?q=%E6%96%87%E6%98%8C"  # 文昌
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 MicroMessenger"
PASSPORT_REQUESTS = 10_000
CONNECTIONS = 64


def stack(command: str, run_dir: Path, *args: str, **env: str) -> None:
    """scripts/stack.py `command`; BenchError if it fails."""
    done = subprocess.run(
        [*STACK, command, "--run-dir", str(run_dir), *args],
        env={**os.environ, "STACK_BENCH": "1", **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"stack {command} failed:\n{done.stdout}{done.stderr}")


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def stack_app(database_url: str):
    from app import create_app
    from config import Config

    return create_app(type("BenchClient", (Config,), {"SQLALCHEMY_DATABASE_URI": database_url}))


# --- 1. pages vs static --------------------------------------------------------------


def pages_vs_static(base: str, run_dir: Path) -> None:
    print("\nThrough nginx, wrk -c64 -d15s (Accept-Language: zh-CN)", flush=True)
    _status, _headers, body = get(base + PRODUCT, {"Accept-Language": "zh-CN"})
    (run_dir / "bench").mkdir(exist_ok=True)
    (run_dir / "bench" / "product.html").write_bytes(body)
    static = run_wrk(base + "/_bench/product.html", CONNECTIONS, 15)
    print_load("static copy (nginx file)", static)
    for label, path in (("product page", PRODUCT), ("home", "/"), ("county page", COUNTY)):
        result = run_wrk(base + path, CONNECTIONS, 15, lang="zh-CN")
        print_load(label, result)
        share = 100 * result.rps / static.rps
        ok = share >= 50 and result.p99_ms < 20
        print(f"    {share:.0f} % of static req/s, p99 {result.p99_ms:.1f} ms: {pass_fail(ok)}")
    # Every search reaches a node: 16 connections (64 queue behind 4 workers past wrk's
    # timeout on a busy machine); errors are reported, not fatal.
    search = parse_wrk(wrk_output(base + SEARCH, 16, 15, lang="zh-CN"))
    print_load("search page (-c16, no cache)", search)
    print(f"    errors: {search.errors or 0}")


# --- 2. publish lag ------------------------------------------------------------------


def publish_lag(base: str, database_url: str, rounds: int = 20) -> None:
    from app.db import db
    from app.models import Product

    app = stack_app(database_url)
    lags = []
    with app.app_context():
        product = db.session.scalar(
            db.select(Product).where(Product.slug == PRODUCT.split("/")[-1])
        )
        original = product.name_en
        for n in range(rounds):
            get(base + PRODUCT, {"Accept-Language": "en"})  # cached before the publish
            name = f"Wenchang chicken {n} {time.time_ns() % 10**6}"
            product.name_en = name
            db.session.commit()
            committed = time.monotonic()
            while name.encode() not in get(base + PRODUCT, {"Accept-Language": "en"})[2]:
                if time.monotonic() - committed > 5:
                    raise BenchError(f"publish {n} not visible after 5 s")
                time.sleep(0.01)
            lags.append(time.monotonic() - committed)
            time.sleep(0.3)
        product.name_en = original
        db.session.commit()
        db.engine.dispose()
    print(
        f"\nPublish -> visible through nginx ({rounds} publishes): median "
        f"{statistics.median(lags) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms: "
        f"{pass_fail(max(lags) <= 1.0)} (<= 1 s)",
        flush=True,
    )


# --- 3. kill -9 of a node's master -----------------------------------------------------


def supervisor_pid(run_dir: Path, program: str) -> int:
    out = subprocess.run(
        [str(VENV_BIN / "supervisorctl"), "-c", str(run_dir / "supervisor" / "supervisord.conf")]
        + ["pid", program],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return int(out) if out.isdigit() else 0


def nodes_in_log(log: Path, offset: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    with open(log, "rb") as lines:
        lines.seek(offset)
        for line in lines:
            upstream = json.loads(line).get("upstream", "")
            for address in filter(None, (a.strip() for a in upstream.split(","))):
                counts[address] = counts.get(address, 0) + 1
    return counts


def kill_a_node(base: str, run_dir: Path, nodes: dict[str, int]) -> None:
    print("\nkill -9 of node a's gunicorn master during wrk -c64 -d20s (nginx cache bypassed)")
    before = supervisor_pid(run_dir, "node_a")
    script = run_dir / "session.lua"
    script.write_text('wrk.headers["Cookie"] = "session=bench"\n')
    with tempfile.TemporaryFile("w+") as out:
        cmd = ["wrk", "-t2", f"-c{CONNECTIONS}", "-d20s", "--latency", "--timeout", "10s"]
        load = subprocess.Popen([*cmd, "-s", str(script), base + PRODUCT], stdout=out, text=True)
        time.sleep(5)
        os.kill(before, 9)
        killed_at = time.monotonic()
        after = 0
        while time.monotonic() - killed_at < 15 and after in (0, before):
            after = supervisor_pid(run_dir, "node_a")
            time.sleep(0.2)
        restarted = time.monotonic() - killed_at
        load.wait(timeout=60)
        out.seek(0)
        result = parse_wrk(out.read())
    print_load("during the kill", result)
    print(
        f"    non-2xx/socket errors: {result.errors or 0}: {pass_fail(not result.errors)}; "
        f"node a master {before} -> {after} after {restarted:.1f} s: "
        f"{pass_fail(after not in (0, before))}"
    )
    log = run_dir / "logs" / "nginx-access.log"
    time.sleep(1.5)  # the access log buffer is flushed every second
    offset = log.stat().st_size
    second = run_wrk(base + PRODUCT, CONNECTIONS, 5, script=script)
    time.sleep(1.5)
    served = nodes_in_log(log, offset)
    names = {f"127.0.0.1:{port}": name for name, port in nodes.items()}
    by_node = {names.get(address, address): n for address, n in served.items()}
    print_load("second run", second)
    print(f"    answered by node: {by_node}: {pass_fail(set(by_node) >= set(nodes))}")


# --- 4. passports counted exactly -----------------------------------------------------


async def passport_load(host: str, port: int, path: str, total: int) -> dict[int, int]:
    """`total` GETs of path over CONNECTIONS keep-alive connections; {status: count}."""
    remaining = [total]
    statuses: dict[int, int] = {}
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {BROWSER}\r\n"
        "Accept-Language: zh-CN\r\n\r\n"
    ).encode()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        while remaining[0] > 0:
            remaining[0] -= 1
            writer.write(request)
            status_line = await reader.readline()
            status = int(status_line.split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return statuses


def stored_scans(database_url: str, code: str) -> int:
    from sqlalchemy import func, select

    from app.db import db
    from app.models.qr import ScanCount

    app = stack_app(database_url)
    with app.app_context():
        today = datetime.now(ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])).date()
        count = db.session.scalar(
            select(func.coalesce(func.sum(ScanCount.count), 0)).where(
                ScanCount.code == code, ScanCount.day == today
            )
        )
        db.engine.dispose()
    return int(count)


def passports_counted(base: str, port: int, database_url: str) -> None:
    from sqlalchemy import select

    from app.db import db
    from app.models.qr import ShortCode

    app = stack_app(database_url)
    with app.app_context():
        codes = list(db.session.scalars(select(ShortCode.code).limit(50)))
        db.engine.dispose()
    code = next(c for c in codes if get(base + f"/q/{c}", {"User-Agent": BROWSER})[0] == 200)
    time.sleep(2.5)  # the probe's scans written (SCAN_FLUSH_SECONDS = 1)
    before = stored_scans(database_url, code)
    started = time.monotonic()
    statuses = asyncio.run(passport_load("127.0.0.1", port, f"/q/{code}", PASSPORT_REQUESTS))
    seconds = time.monotonic() - started
    answered = sum(statuses.values())
    deadline = time.monotonic() + 15
    while (stored := stored_scans(database_url, code) - before) < answered:
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    time.sleep(2)  # nothing more may arrive either
    stored = stored_scans(database_url, code) - before
    print(
        f"\nPassports: {answered} requests from {CONNECTIONS} connections in {seconds:.1f} s "
        f"({answered / seconds:.0f} req/s), statuses {statuses}; scans stored {stored}: "
        f"{pass_fail(stored == answered == PASSPORT_REQUESTS)}",
        flush=True,
    )


# --- 5. the in-app page cache behind nginx --------------------------------------------


def catalogue_paths(database_url: str) -> list[str]:
    from sqlalchemy import select

    from app.db import db
    from app.models import County, Product
    from app.models.listing import PublicationStatus

    app = stack_app(database_url)
    with app.app_context():
        products = db.session.scalars(
            select(Product.slug).where(Product.status == PublicationStatus.PUBLISHED)
        )
        paths = [f"/products/{slug}" for slug in products]
        paths += [f"/counties/{slug}" for slug in db.session.scalars(select(County.slug))]
        db.engine.dispose()
    return paths


def rotation(base: str, run_dir: Path, paths: list[str], label: str) -> LoadResult:
    script = rotation_script(
        run_dir,
        "catalogue",
        paths,
        "function request()\n  counter = counter + 1\n"
        '  return wrk.format("GET", paths[(counter % #paths) + 1], '
        '{["Accept-Language"] = "zh-CN"})\nend\n',
    )
    result = parse_wrk(wrk_output(base + "/", CONNECTIONS, 15, script=script))
    if result.errors:
        raise BenchError(f"errors in the rotation: {result.errors}")
    print_load(label, result)
    return result


def cache_behind_nginx(base: str, port: int, run_dir: Path, database_url: str) -> None:
    paths = catalogue_paths(database_url)
    print(f"\nIn-app page cache behind nginx: {len(paths)} pages in rotation, wrk -c64 -d15s")
    with_cache = rotation(base, run_dir, paths, "in-app cache on")
    stack("down", run_dir)
    stack("up", run_dir, "--port", str(port), "--database", DATABASE, PAGE_CACHE_MAX_ENTRIES="0")
    without = rotation(base, run_dir, paths, "in-app cache off")
    print(f"    on/off: {with_cache.rps / without.rps:.2f}x req/s")


def drop_database() -> None:
    """The bench's database goes with it (up created it; the restart in 5 reused it)."""
    import psycopg

    with psycopg.connect(
        "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True, connect_timeout=5
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description="Figures of the stack (scripts/stack.py)")
    parser.add_argument("--parts", default="12345", help="which parts to run, e.g. 245")
    parts = parser.parse_args().parts
    for tool in ("nginx", "wrk"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: ./scripts/ensure-debian-packages nginx-light wrk")
    with open("/proc/loadavg") as load:
        print(f"Load average before: {load.read().split()[:3]}")
    print_noise("before the run")
    run_dir = Path(tempfile.mkdtemp(prefix="gi-stack-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        stack("up", run_dir, "--port", str(port), "--database", DATABASE)
        print(f"Stack up on {base} in {time.monotonic() - started:.0f} s")
        state = json.loads((run_dir / "state.json").read_text())
        database_url = state["database_url"]
        nodes = {node["name"]: node["port"] for node in state["nodes"]}
        if "1" in parts:
            pages_vs_static(base, run_dir)
        if "2" in parts:
            publish_lag(base, database_url)
        if "3" in parts:
            kill_a_node(base, run_dir, nodes)
        if "4" in parts:
            passports_counted(base, port, database_url)
        if "5" in parts:
            cache_behind_nginx(base, port, run_dir, database_url)
    except BenchError as exc:
        print(f"BENCH FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        stack("down", run_dir)
        drop_database()
        shutil.rmtree(run_dir, ignore_errors=True)
        left = subprocess.run(["pgrep", "-f", str(run_dir)], capture_output=True, text=True)
        print(f"\nCleaned up: run directory removed, processes left: {left.stdout.split() or 0}")
    with open("/proc/loadavg") as load:
        print(f"Load average after: {load.read().split()[:3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
