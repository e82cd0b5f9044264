"""Search page under load: is searching as fast as opening a page?

What it measures, for each search engine (--engine whoosh|postgresql|both, default both), on
a throwaway instance (temp dir, production config, the seed data; for PostgreSQL a throwaway
database on the local server, TEST_PG_ADMIN_URL as the tests, created, migrated and seeded
like the SQLite one and dropped at the end):

1. Under gunicorn started with the repo's gunicorn.conf.py (3 sync workers), wrk -t2 -c16:
   - the home page `/?lang=en`, the baseline the issue measured. `?lang=` keeps it away
     from the WSGI fast path (app/caching/middleware.py), so Flask's whole request cycle
     runs; Flask still answers it from the per-process page cache (cached_response), so it
     is "a page through Flask", not a render. Hence also:
   - the home page rendered on every request (`/?lang=en&n=<counter>`: each URL is a new
     page-cache key, so every request is a cache miss and the template renders);
   - the search page over a rotation of ~100 realistic queries (Chinese names, pinyin,
     initials, English words, two words, facet filters, pages, misspellings, no result),
     cycled by a wrk Lua script, Accept-Language alternating zh-CN / en.
   - the same rotation with every request a miss of the search page cache
     (app/search/views.py: `&n=<counter>` makes each URL new), what a search costs when
     it must be answered.
   Then both search mixes again at -c64 for their p99. Prints req/s, p50/p99, the ratios
   search / home (target >= 50 %) and the search p99 at -c64 (target < 100 ms).
2. With --profile, in process (no server): wall time per search request, SQL statements
   per request, and a cProfile split by phase (query build, Whoosh scoring, facets, rows,
   snippets, render...) in ms per request (profiled, so inflated; read the shares).

Every load figure depends on the machine being otherwise idle: "CPU busy" is printed before
and after. Each round of the wrk runs is done --rounds times (default 2) in the same run,
and the ratios of every engine and round are printed together at the end.

Run: `make bench-search-load` (installs wrk) or `.venv/bin/python bench/search_load.py`
(`--engine whoosh` for one engine, `--profile` for the in-process split, `--seconds N` per
wrk run).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from harness import (
    ROOT,
    BenchError,
    LoadResult,
    app_env,
    build_instance,
    free_port,
    get,
    parse_wrk,
    pass_fail,
    print_load,
    print_noise,
    rotation_script,
    start_gunicorn,
    stop,
)

ENGINES = ("whoosh", "postgresql")
PG_ADMIN_URL = os.environ.get(
    "TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
HOME = "/?lang=en"
TARGET_SHARE_OF_HOME = 50.0  # percent, issue 10
TARGET_P99_MS = 100.0  # search p99 at 64 connections, issue 10
LOW, HIGH = 16, 64  # wrk connections

# The rotation: (query, extra parameters). What visitors type, from the seed catalogue.
CHINESE = (
    "文昌鸡 和乐蟹 兴隆咖啡 福山咖啡 海南岛盐 儋州粽子 屯昌黑猪 圣女果 乐东香蕉 火山荔枝 "
    "三亚芒果 琼中绿橙 白沙绿茶 苦丁茶 五指山红茶 白莲鹅 雪茄烟叶 山鸡 番石榴 黄皮 莲雾 "
    "空心菜 万宁柠檬 椰子 红毛丹 东山羊 淮山 胡椒 槟榔 冬瓜 油茶 哈密瓜 粽子 黎锦 地瓜 "
    "荔枝 咖啡 茶 鸡 文昌 琼海 万宁 三亚 儋州 澄迈 海口 咖啡粉"
).split()
PINYIN = (
    "wenchangji helexie xinglongkafei wenchang wanning sanya lizhi kafei yezi dongshanyang "
    "qionghai chengmai mangguo hujiao binglang"
).split() + ["wen chang ji", "xing long ka fei"]
INITIALS = "wcj hlx xlkf dsy fskf sy".split()
ENGLISH = (
    "chicken coffee crab lychee mango tea pepper goat pig banana coconut salt orange yam "
    "duck goose cigar brocade rambutan guava lemon melon"
).split() + ["sweet potato"]
TWO_WORDS = [
    "wenchang chicken",
    "green tea",
    "black pig",
    "hainan coffee",
    "lychee haikou",
    "文昌 鸡",
    "三亚 芒果",
    "coffee xinglong",
]
FILTERED = [
    ("coffee", {"kind": "product"}),
    ("荔枝", {"county": "haikou"}),
    ("tea", {"category": "tea"}),
    ("chicken", {"regime": "gi_trademark"}),
    ("wenchang", {"kind": "enterprise"}),
    ("hainan", {"page": "2"}),
]
MISSPELT = "chiken cofee mangoe wenchnag xinlong bananna lyche coconot".split()
NO_RESULT = ["zzzz", "qwertyuiop", "火星基地", "spaceship", "xyzzy plugh"]


def rotation() -> list[str]:
    """The search paths wrk cycles through, kinds interleaved (a short run sees them all)."""
    groups: list[list[tuple[str, dict]]] = [
        [(q, {}) for q in group]
        for group in (CHINESE, PINYIN, INITIALS, ENGLISH, TWO_WORDS, MISSPELT, NO_RESULT)
    ] + [FILTERED]
    queries: list[tuple[str, dict]] = []
    for i in range(max(map(len, groups))):
        queries += [group[i] for group in groups if i < len(group)]
    return ["/search?" + urlencode({"q": q, **extra}) for q, extra in queries]


# Each request: the next path of the rotation, in Chinese and English by turns; with
# `unique`, a URL never asked before (every request a cache miss).
REQUEST_LUA = """
function request()
  counter = counter + 1
  local path = paths[(counter %% #paths) + 1]
  if %s then path = path .. "&n=" .. id .. "-" .. counter end
  local lang = (counter %% 2 == 0) and "zh-CN" or "en"
  return wrk.format("GET", path, {["Accept-Language"] = lang})
end
"""


def lua_script(work: Path, name: str, paths: list[str], unique: bool = False) -> Path:
    """A wrk script cycling through `paths`; with `unique`, each request's URL is new."""
    return rotation_script(work, name, paths, REQUEST_LUA % ("true" if unique else "false"))


def run_wrk(url: str, script: Path, connections: int, seconds: int) -> LoadResult:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    done = subprocess.run(
        [*cmd, "-s", str(script), url], capture_output=True, text=True, timeout=seconds + 30
    )
    if done.returncode != 0:
        raise BenchError(f"wrk failed on {url}:\n{done.stdout}{done.stderr}")
    result = parse_wrk(done.stdout)
    if result.errors:
        raise BenchError(f"wrk saw errors on {url}: {result.errors}\n{done.stdout}")
    return result


def check_answers(base: str, paths: list[str]) -> None:
    """Every path of the rotation answers 200 with a results page (a 4xx or a redirect in
    the mix would make the figures meaningless)."""
    for path in paths:
        body = get(base + path).decode()
        if 'class="search-layout"' not in body:
            raise BenchError(f"{path} did not answer a search page")


def load_round(base: str, scripts: dict[str, Path], seconds: int) -> dict[str, LoadResult]:
    found = {}
    for label, (script, connections) in {
        f"home {HOME} c{LOW}": (scripts["home"], LOW),
        f"home rendered c{LOW}": (scripts["home rendered"], LOW),
        f"search rotation c{LOW}": (scripts["search"], LOW),
        f"search all-miss c{LOW}": (scripts["search all-miss"], LOW),
        f"search rotation c{HIGH}": (scripts["search"], HIGH),
        f"search all-miss c{HIGH}": (scripts["search all-miss"], HIGH),
    }.items():
        found[label] = run_wrk(base + "/", script, connections, seconds)
        print_load(label, found[label])
    return found


def ratio_lines(found: dict[str, LoadResult]) -> list[str]:
    """The issue's two targets for each search mix, against the home page of the same round."""
    home, rendered = found[f"home {HOME} c{LOW}"], found[f"home rendered c{LOW}"]
    lines = []
    for mix in ("rotation", "all-miss"):
        search, busy = found[f"search {mix} c{LOW}"], found[f"search {mix} c{HIGH}"]
        share = 100 * search.rps / home.rps
        lines.append(
            f"search {mix}: / home {HOME} = {share:.0f} % (target >= "
            f"{TARGET_SHARE_OF_HOME:g} %: {pass_fail(share >= TARGET_SHARE_OF_HOME)}); "
            f"/ rendered home = {100 * search.rps / rendered.rps:.0f} %; p99 at c{HIGH} = "
            f"{busy.p99_ms:.1f} ms (target < {TARGET_P99_MS:g} ms: "
            f"{pass_fail(busy.p99_ms < TARGET_P99_MS)})"
        )
    return lines


# --- in process ----------------------------------------------------------------------

# Phase -> functions whose cumulative time is that phase ((file suffix, function name)).
PHASES: dict[str, list[tuple[str, str]]] = {
    "whole view (search)": [("app/search/views.py", "search")],
    "outbox catch-up": [("app/search/sync.py", "catch_up")],
    "searcher (open/check)": [("app/search/store.py", "searcher")],
    "synonyms read": [("app/search/synonyms.py", "current")],
    "query build": [("app/search/service.py", "build_query"), ("app/search/service.py", "compact")],
    "Whoosh scoring": [("whoosh/searching.py", "search_with_collector")],
    "PostgreSQL lexicon": [("app/search/postgresql.py", "prefetch")],
    "PostgreSQL ranking": [("app/search/postgresql.py", "run")],
    "facet counts": [("app/search/facets.py", "count")],
    "did you mean": [
        ("app/search/spelling.py", "did_you_mean"),
        ("app/search/postgresql.py", "did_you_mean"),
    ],
    "row loading": [("app/search/documents.py", "load_in_order")],
    "snippets": [
        ("app/search/highlight.py", "highlight_terms"),
        ("app/search/highlight.py", "snippet"),
    ],
    "related places": [("app/search/views.py", "related_places")],
    "render": [("flask/templating.py", "render_template")],
}


def phase_times(stats: pstats.Stats, requests: int) -> dict[str, float]:
    """ms per request of each phase (cumulative time of its functions, profiled)."""
    table = stats.stats  # type: ignore[attr-defined]  # (file, line, name) -> (.., cumtime, ..)
    found = {}
    for phase, functions in PHASES.items():
        total = 0.0
        for (filename, _line, name), (_cc, _nc, _tt, cumtime, _callers) in table.items():
            if any(filename.endswith(f) and name == fn for f, fn in functions):
                total += cumtime
        found[phase] = 1000 * total / requests
    return found


def profile(paths: list[str], rounds: int = 5) -> None:
    """In-process figures for the rotation on the instance this process's environment
    names: wall ms and SQL statements per request, and the phase split under cProfile."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import event

    from app import create_app
    from app.db import db

    app = create_app()
    kept = app.config["SEARCH_PAGE_CACHE_ENTRIES"]
    app.config["SEARCH_PAGE_CACHE_ENTRIES"] = 0  # the split is of a search answered
    statements: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    client = app.test_client()

    def each(call: Callable[[str, str], None]) -> None:
        for i, path in enumerate(paths):
            call(path, "en" if i % 2 else "zh-CN")

    def fetch(path: str, lang: str) -> None:
        response = client.get(path, headers={"Accept-Language": lang})
        if response.status_code != 200:
            raise BenchError(f"{path}: {response.status_code}")

    each(fetch)  # warm: searchers, jieba, vocabularies
    walls: list[float] = []
    cpus: list[float] = []
    statements.clear()

    def timed(path: str, lang: str) -> None:
        started, cpu = time.perf_counter(), time.process_time()
        fetch(path, lang)
        walls.append(1000 * (time.perf_counter() - started))
        cpus.append(1000 * (time.process_time() - cpu))

    for _ in range(rounds):
        each(timed)
    per_request = len(statements) / len(walls)
    cpu = time.process_time()
    for _ in range(500):
        client.get(HOME)
    home_cpu = 2 * (time.process_time() - cpu)  # ms per request
    app.config["SEARCH_PAGE_CACHE_ENTRIES"] = kept
    each(fetch)  # fill the search page cache
    cpu = time.process_time()
    for _ in range(rounds):
        each(fetch)
    hit_cpu = 1000 * (time.process_time() - cpu) / (rounds * len(paths))
    app.config["SEARCH_PAGE_CACHE_ENTRIES"] = 0
    profiler = cProfile.Profile()
    profiler.enable()
    each(fetch)
    profiler.disable()
    phases = phase_times(pstats.Stats(profiler), len(paths))

    engine = app.config["SEARCH_ENGINE"]
    print(f"In process, {engine} ({len(paths)} queries x {rounds}, test client, no server):")
    print(
        f"  search request, page cache off: CPU mean {statistics.mean(cpus):.2f} ms (wall mean "
        f"{statistics.mean(walls):.2f} ms, p50 {statistics.median(walls):.2f} ms, max "
        f"{max(walls):.2f} ms); {per_request:.1f} SQL statements per request"
    )
    print(f"  search request, answered from the search page cache: CPU mean {hit_cpu:.2f} ms")
    print(f"  home {HOME} (page-cache hit through Flask): CPU mean {home_cpu:.2f} ms")
    whole = phases["whole view (search)"] or 1.0
    print("  phases under cProfile, page cache off (ms per request, share of the view):")
    for phase, ms in phases.items():
        print(f"    {phase:<24} {ms:>7.2f} ms  {100 * ms / whole:>5.1f} %")


# --- the run -------------------------------------------------------------------------


@contextmanager
def engine_database(engine: str) -> Iterator[dict[str, str]]:
    """The environment that selects `engine` for an instance: nothing for Whoosh (the
    instance's own SQLite file); for PostgreSQL a throwaway database on the local server,
    dropped on the way out."""
    if engine == "whoosh":
        yield {"SEARCH_BACKEND": "whoosh"}
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"gi_bench_load_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        yield {"DATABASE_URL": url, "SEARCH_BACKEND": "postgresql"}
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def load_rounds(env: dict, tmp: Path, paths: list[str], args: argparse.Namespace) -> list[str]:
    """The wrk rounds against one instance under gunicorn; returns each round's ratios."""
    port = int(env["SITE_BASE_URL"].rsplit(":", 1)[1])
    gunicorn = start_gunicorn(["-c", "gunicorn.conf.py"], port, env, tmp)
    try:
        base = f"http://127.0.0.1:{port}"
        check_answers(base, paths)
        scripts = {
            "home": lua_script(tmp, "home", [HOME]),
            "home rendered": lua_script(tmp, "home-rendered", [HOME], unique=True),
            "search": lua_script(tmp, "search", paths),
            "search all-miss": lua_script(tmp, "search-all-miss", paths, unique=True),
        }
        for _ in range(3):  # warm every worker: searchers, jieba, vocabularies
            run_wrk(base + "/", scripts["search"], 3, 1)
        print_noise("before the load runs")
        print(f"gunicorn -c gunicorn.conf.py (3 sync workers); wrk -t2, {args.seconds} s each")
        summary = []
        for number in range(1, args.rounds + 1):
            print(f"Round {number}:")
            for line in ratio_lines(load_round(base, scripts, args.seconds)):
                print("  " + line, flush=True)
                summary.append(f"round {number} {line}")
        print_noise("after the load runs, gunicorn idle")
        return summary
    finally:
        stop(gunicorn)


def run_engine(engine: str, paths: list[str], args: argparse.Namespace) -> list[str]:
    """Seed an instance for `engine`, run the load rounds and the profile; its ratios."""
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-search-load-{engine}-"))
    try:
        with engine_database(engine) as selected:
            port = free_port()
            env = app_env(tmp / "instance", port) | selected
            started = time.monotonic()
            build_instance(env)
            print(f"\n=== Engine: {engine} ===")
            print(f"Instance seeded in {time.monotonic() - started:.1f} s; {os.cpu_count()} CPUs")
            summary = [] if args.profile_only else load_rounds(env, tmp, paths, args)
            if args.profile or args.profile_only:
                # A process of its own: config.py reads the environment once, at import.
                here = [sys.executable, __file__, "--profile-here"]
                subprocess.run(here, env=env, cwd=ROOT, check=True, timeout=600)
            return summary
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=(*ENGINES, "both"), default="both")
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="times the load set is run")
    parser.add_argument("--profile", action="store_true", help="also the in-process split")
    parser.add_argument("--profile-only", action="store_true", help="no server, no wrk")
    parser.add_argument("--profile-here", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    paths = rotation()
    if args.profile_here:  # the child of run_engine, on the instance its environment names
        profile(paths)
        return 0
    if not args.profile_only and not shutil.which("wrk"):
        print("wrk missing: run ./scripts/ensure-debian-packages wrk", file=sys.stderr)
        return 2
    print(f"Rotation: {len(paths)} search URLs, e.g. {paths[0]} {paths[-1]}")
    engines = ENGINES if args.engine == "both" else (args.engine,)
    summaries: dict[str, list[str]] = {}
    try:
        for engine in engines:
            summaries[engine] = run_engine(engine, paths, args)
    except (BenchError, subprocess.CalledProcessError) as exc:
        print(f"BENCH FAILED: {exc}", file=sys.stderr)
        return 1
    if not args.profile_only:
        print(
            "\nRatios, every engine and round (other processes on this machine skew them: "
            "see CPU busy above):"
        )
        for engine, lines in summaries.items():
            for line in lines:
                print(f"  {engine:<10} {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
