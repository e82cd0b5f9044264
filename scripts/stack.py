"""The grown-up deployment on one machine: nginx in front of two gunicorn nodes under
supervisord, PostgreSQL and Redis (`make stack-up` / `make stack-down`).

    python scripts/stack.py up     [--port 8080] [--run-dir .stack] [--database gi_stack]
    python scripts/stack.py down   [--run-dir .stack] [--drop-database]
    python scripts/stack.py render [--run-dir DIR]   (configs only: deploy/ templates)

Everything runs as the current user with its files under the run directory (ignored by
git): nginx with `-p` (its own pid, logs, temp files and cache), supervisord's socket, pid
and logs, one instance directory per node. `up` records what it started in
<run-dir>/state.json (pids, whether it started PostgreSQL or Redis, whether it created the
database); `down` stops exactly those, by pid, and nothing else, then removes every file up
made (state, stack.env with its SECRET_KEY, nginx and supervisord files, the nodes'
instance and metrics directories) except two things kept on purpose: <run-dir>/logs/ (the
nodes', nginx's and Redis's logs, for a look after the fact) and the data: the database and
<run-dir>/media/. A database up created is named in <run-dir>/created-database, which a
plain down keeps, so `down --drop-database` drops it (and media/) later too.

PostgreSQL: DATABASE_URL when set; otherwise a database on the local server (started if
down, as .ci/run does), migrated and seeded when empty. Redis: REDIS_URL when set, else
127.0.0.1:6379 (started if down); login limits are counted under a key prefix naming the
database, so stacks sharing one Redis do not share them. Exit codes: 0 up/down (also
"nothing to stop"), 1 a step failed (its output printed, or the stack is already up)."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.security import CONTENT_SECURITY_POLICY, STATIC_SECURITY_HEADERS  # noqa: E402
from app.static_urls import content_hash  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
DEPLOY = ROOT / "deploy"
BROTLI_MODULE = Path("/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so")
PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
NODE_NAMES = "abcdefgh"
STATIC = ROOT / "static"
TRANSLATIONS = ROOT / "app" / "translations"
# What up writes into the run directory and down removes (logs/ and media/ are kept).
CREATED = (
    "state.json",
    "stack.env",
    "nginx",
    "supervisor",
    "nodes",
    "bench",
    "redis.pid",
    "dump.rdb",
)
CREATED_DATABASE = "created-database"  # the name of a database up created; kept by down
IMMUTABLE = "public, max-age=31536000, immutable"


class StackError(RuntimeError):
    """A step of up/down failed; the message says which and why."""


@dataclass
class Node:
    name: str
    port: int
    instance: str
    metrics: str


@dataclass
class State:
    """What `up` started, so `down` stops exactly that."""

    port: int
    nodes: list[Node]
    database_url: str
    redis_url: str
    secret_key: str
    nginx_pid: int | None = None
    supervisord_pid: int | None = None
    redis_pid: int | None = None
    postgres_cluster: str | None = None  # "15" when up started it
    created_database: str | None = None
    pids_seen: list[int] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> State:
        raw = json.loads(path.read_text())
        raw["nodes"] = [Node(**node) for node in raw["nodes"]]
        return cls(**raw)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))


# --- small helpers -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) is gone for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def read_pid(path: Path, seconds: float = 10) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text().strip())
        time.sleep(0.05)
    raise StackError(f"no pid file at {path}")


def run(cmd: list[str], env: dict | None = None, timeout: float = 600) -> str:
    done = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise StackError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.1)
    raise StackError(f"{url} did not answer 200 within {seconds:.0f} s ({last})")


def descendants(pid: int) -> list[int]:
    """Every process below pid (from /proc), for the record of what the stack runs."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().split(")")[-1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stack_pids(state: State) -> list[int]:
    """The pids of every process the stack runs now (nginx, supervisord and below)."""
    pids = []
    for pid in (state.nginx_pid, state.supervisord_pid, state.redis_pid):
        if alive(pid):
            assert pid is not None
            pids += [pid, *descendants(pid)]
    return pids


# --- the services it needs ---------------------------------------------------------


def ensure_postgres(state: State, database: str) -> None:
    """DATABASE_URL as given, or `database` on the local server (started if down)."""
    import psycopg

    if os.environ.get("DATABASE_URL"):
        state.database_url = os.environ["DATABASE_URL"]
        return
    if not port_open(PG_HOST, PG_PORT):
        versions = sorted(os.listdir("/etc/postgresql")) if Path("/etc/postgresql").exists() else []
        if not versions:
            raise StackError(
                "PostgreSQL is not installed (./scripts/ensure-debian-packages postgresql)"
            )
        run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[0], "main", "start"])
        state.postgres_cluster = versions[0]
        for _ in range(60):
            if port_open(PG_HOST, PG_PORT):
                break
            time.sleep(0.5)
    admin = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
            state.created_database = database
    state.database_url = f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{database}"


def ensure_redis(state: State, run_dir: Path) -> None:
    if os.environ.get("REDIS_URL"):
        state.redis_url = os.environ["REDIS_URL"]
        return
    state.redis_url = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"
    if port_open(REDIS_HOST, REDIS_PORT):
        return
    pidfile = run_dir / "redis.pid"
    run(
        [
            "redis-server",
            "--daemonize", "yes",
            "--bind", REDIS_HOST,
            "--port", str(REDIS_PORT),
            "--save", "",
            "--appendonly", "no",
            "--pidfile", str(pidfile),
            "--dir", str(run_dir),
            "--logfile", str(run_dir / "logs" / "redis.log"),
        ]
    )  # fmt: skip
    state.redis_pid = read_pid(pidfile)


def app_env(state: State, run_dir: Path) -> dict:
    """The nodes' environment (the same values as the rendered stack.env)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR",)}
    env.update(env_values(state, run_dir))
    env["FLASK_APP"] = "wsgi"
    env["INSTANCE_PATH"] = state.nodes[0].instance
    env["MEDIA_ROOT"] = str(run_dir / "media")
    return env


def env_values(state: State, run_dir: Path) -> dict[str, str]:
    workers = os.environ.get("STACK_WORKERS", "2")
    return {
        "APP_ENV": "production",
        "SECRET_KEY": state.secret_key,
        "DATABASE_URL": state.database_url,
        "REDIS_URL": state.redis_url,
        "SITE_BASE_URL": f"http://127.0.0.1:{state.port}",
        "TRUSTED_HOSTS": "127.0.0.1,localhost",
        "TRUSTED_PROXIES": "1",
        # Plain http on 127.0.0.1: secure-only cookies would never come back (sign-in).
        "COOKIES_SECURE": "0",
        "WEB_CONCURRENCY": workers,
        "PROXY_CACHE_SECONDS_ALIGNED": "1",
        "PAGE_CACHE_CHECK_SECONDS": os.environ.get("PAGE_CACHE_CHECK_SECONDS", "1.0"),
        "PAGE_CACHE_MAX_ENTRIES": os.environ.get("PAGE_CACHE_MAX_ENTRIES", "2000"),
        "DATABASE_LOCK_TIMEOUT_MS": os.environ.get("DATABASE_LOCK_TIMEOUT_MS", "5000"),
        "DATABASE_STATEMENT_TIMEOUT_MS": os.environ.get("DATABASE_STATEMENT_TIMEOUT_MS", "15000"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "RATELIMIT_KEY_PREFIX": f"gi-catalogue-{database_name(state.database_url)}",
    }


def database_name(url: str) -> str:
    """The database of a URL ("postgresql+psycopg://u@h:5432/gi_stack?x=1" -> "gi_stack")."""
    return url.rsplit("/", 1)[-1].split("?", 1)[0] or "default"


# --- rendering ---------------------------------------------------------------------


def render(state: State, run_dir: Path, *, proxy_cache: bool = True) -> None:
    """deploy/*.j2 -> <run-dir>/nginx/*.conf, supervisor/supervisord.conf, stack.env."""
    templates = Environment(
        loader=FileSystemLoader(DEPLOY),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    values = env_values(state, run_dir)
    context = {
        "run_dir": str(run_dir),
        "root": str(ROOT),
        "venv_bin": str(VENV_BIN),
        "port": state.port,
        "bind": "127.0.0.1",
        "nodes": state.nodes,
        "static_dir": str(ROOT / "static"),
        "media_root": str(run_dir / "media"),
        "max_body_bytes": largest_body(),
        "brotli_module": str(BROTLI_MODULE) if BROTLI_MODULE.exists() else "",
        "nginx_workers": os.environ.get("NGINX_WORKERS", "1"),
        "run_as": current_user() if os.geteuid() == 0 else "",
        "daemon": True,
        "access_log_buffer": True,
        "proxy_cache": proxy_cache,
        # bench/stack.py sets STACK_BENCH=1: nginx also serves <run-dir>/bench/ as files.
        "bench_dir": str(run_dir / "bench") if os.environ.get("STACK_BENCH") == "1" else "",
        "csp": CONTENT_SECURITY_POLICY,
        "security_headers": STATIC_SECURITY_HEADERS,
        "common_env": ",".join(f'{k}="{v}"' for k, v in values.items()),
        "secret_key": state.secret_key,
        "database_url": state.database_url,
        "redis_url": state.redis_url,
        "site_base_url": values["SITE_BASE_URL"],
        "trusted_hosts": values["TRUSTED_HOSTS"],
        "workers": values["WEB_CONCURRENCY"],
        "cookies_secure": values["COOKIES_SECURE"],
        "page_cache_check_seconds": values["PAGE_CACHE_CHECK_SECONDS"],
        "page_cache_max_entries": values["PAGE_CACHE_MAX_ENTRIES"],
        "lock_timeout_ms": values["DATABASE_LOCK_TIMEOUT_MS"],
        "statement_timeout_ms": values["DATABASE_STATEMENT_TIMEOUT_MS"],
        "ratelimit_key_prefix": values["RATELIMIT_KEY_PREFIX"],
        "zh": chinese(),
        "heading": "What was sent is too large",
        "explanation": (
            "Nothing was received. Go back and send less: a photo of at most 15 MB, "
            "a spreadsheet of at most 5 MB, shorter text."
        ),
    }
    outputs = {
        "nginx.conf.j2": run_dir / "nginx" / "nginx.conf",
        "proxy_params.conf.j2": run_dir / "nginx" / "proxy_params.conf",
        "security_headers.conf.j2": run_dir / "nginx" / "security_headers.conf",
        "supervisord.conf.j2": run_dir / "supervisor" / "supervisord.conf",
        "stack.env.j2": run_dir / "stack.env",
        "413.html.j2": run_dir / "nginx" / "errors" / "413.html",
    }
    for template, target in outputs.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(templates.get_template(template).render(context))
    (run_dir / "stack.env").chmod(0o600)
    (run_dir / "nginx" / "static_hashes.map").write_text(static_hashes_map())
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run_dir / "nginx" / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    (run_dir / "logs").mkdir(exist_ok=True)
    for node in state.nodes:
        Path(node.instance).mkdir(parents=True, exist_ok=True)
        Path(node.metrics).mkdir(parents=True, exist_ok=True)


def chinese():
    """gettext of the app's zh catalogue (the static 413 page is rendered in both languages)."""
    from babel.support import Translations

    return Translations.load(str(TRANSLATIONS), ["zh"]).gettext


def static_hashes_map() -> str:
    """Lines of nginx's $static_cache_control map: every file under static/ at the URL the
    app gives it (app/static_urls.py: /static/<path>?v=<hash>) -> immutable for a year."""
    from urllib.parse import quote

    lines = []
    for path in sorted(p for p in STATIC.rglob("*") if p.is_file()):
        digest = content_hash(str(path))
        uri = "/static/" + quote(path.relative_to(STATIC).as_posix())
        lines.append(f'"{uri}?v={digest}" "{IMMUTABLE}";\n')
    return "".join(lines)


def largest_body() -> int:
    """Bytes of the largest body a view accepts (app/request_limits.py, @accepts_upload:
    photo, spreadsheet import, report with photo): nginx lets that much through and the app
    refuses each view's excess itself, with its translated 413."""
    from app.media.upload import MAX_UPLOAD_BYTES
    from app.request_limits import FORM_OVERHEAD
    from app.services.reports import MAX_PHOTO_BYTES
    from app.services.spreadsheets import MAX_BYTES

    return max(MAX_UPLOAD_BYTES, MAX_PHOTO_BYTES, MAX_BYTES) + FORM_OVERHEAD


def current_user() -> str:
    import grp
    import pwd

    return f"{pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name}"


def new_state(run_dir: Path, port: int, nodes: int) -> State:
    return State(
        port=port,
        nodes=[
            Node(
                name=name,
                port=free_port(),
                instance=str(run_dir / "nodes" / name / "instance"),
                metrics=str(run_dir / "nodes" / name / "metrics"),
            )
            for name in NODE_NAMES[:nodes]
        ],
        database_url="",
        redis_url="",
        secret_key=secrets.token_hex(32),
    )


@contextmanager
def step(name: str) -> Iterator[None]:
    """Print how long a step of up took (stderr): start-up time is mostly the seed."""
    started = time.monotonic()
    yield
    print(f"  {name}: {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)


# --- up and down -------------------------------------------------------------------


def up(run_dir: Path, port: int, database: str, nodes: int, proxy_cache: bool = True) -> State:
    state_file = run_dir / "state.json"
    if state_file.exists() and stack_pids(State.load(state_file)):
        raise StackError(f"the stack in {run_dir} is already up (make stack-down first)")
    if port_open("127.0.0.1", port):
        raise StackError(f"port {port} is taken: set PORT to a free one")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "logs").mkdir(exist_ok=True)
    state = new_state(run_dir, port, nodes)
    state.save(state_file)
    try:
        with step("PostgreSQL"):
            ensure_postgres(state, database)
            state.save(state_file)
            if state.created_database:
                (run_dir / CREATED_DATABASE).write_text(state.created_database + "\n")
        with step("Redis"):
            ensure_redis(state, run_dir)
            state.save(state_file)
        render(state, run_dir, proxy_cache=proxy_cache)
        env = app_env(state, run_dir)
        with step("migrate and seed"):
            run([str(VENV_BIN / "flask"), "db", "upgrade"], env)
            run([str(VENV_BIN / "flask"), "seed", "--if-empty"], env)
        with step("app nodes (supervisord)"):
            start_supervisord(state, run_dir)
            state.save(state_file)
            for node in state.nodes:
                wait_http(f"http://127.0.0.1:{node.port}/healthz", 60)
        with step("nginx"):
            start_nginx(state, run_dir)
            state.save(state_file)
            wait_http(f"http://127.0.0.1:{port}/healthz", 30)
        state.pids_seen = stack_pids(state)
        state.save(state_file)
    except BaseException:
        down(run_dir, drop_database=state.created_database is not None)  # only if made now
        raise
    return state


def start_supervisord(state: State, run_dir: Path) -> None:
    conf = run_dir / "supervisor" / "supervisord.conf"
    pidfile = run_dir / "supervisor" / "supervisord.pid"
    pidfile.unlink(missing_ok=True)
    run([str(VENV_BIN / "supervisord"), "-c", str(conf)])
    state.supervisord_pid = read_pid(pidfile)


def start_nginx(state: State, run_dir: Path) -> None:
    prefix = run_dir / "nginx"
    pidfile = prefix / "nginx.pid"
    pidfile.unlink(missing_ok=True)
    run(["nginx", "-t", "-q", "-p", str(prefix), "-c", "nginx.conf"])
    run(["nginx", "-p", str(prefix), "-c", "nginx.conf"])
    state.nginx_pid = read_pid(pidfile)


def terminate(pid: int | None, sig: int = signal.SIGTERM, seconds: float = 20) -> None:
    """Signal one recorded process and wait for it (and its group) to be gone."""
    if not alive(pid):
        return
    assert pid is not None
    below = descendants(pid)
    os.kill(pid, sig)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (alive(pid) or any(alive(p) for p in below)):
        time.sleep(0.05)
    for leftover in [pid, *below]:
        if alive(leftover):
            os.kill(leftover, signal.SIGKILL)


def down(run_dir: Path, drop_database: bool = False) -> State | None:
    """Stop what up started and remove what it wrote (module docstring); None when nothing
    was recorded (a second down). --drop-database works after a plain down too."""
    state_file = run_dir / "state.json"
    if not state_file.exists():
        if drop_database:
            drop_created_database(run_dir)
        return None
    state = State.load(state_file)
    terminate(state.nginx_pid, signal.SIGQUIT)  # nginx: finish the open requests, then exit
    terminate(state.supervisord_pid)  # stops every node (stopasgroup) before it exits
    terminate(state.redis_pid)
    if state.postgres_cluster:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", state.postgres_cluster, "main", "stop"],
            check=False,
            capture_output=True,
        )
    elif drop_database:
        drop_created_database(run_dir)
    for name in CREATED:
        path = run_dir / name
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return state


def drop_created_database(run_dir: Path) -> None:
    """Drop the database up created (named in <run-dir>/created-database) and the media."""
    marker = run_dir / CREATED_DATABASE
    if not marker.exists():
        return
    import psycopg

    admin = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{marker.read_text().strip()}" WITH (FORCE)')
    shutil.rmtree(run_dir / "media", ignore_errors=True)
    marker.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("up", "down", "render"))
    parser.add_argument("--run-dir", type=Path, default=ROOT / ".stack")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--database", default=os.environ.get("STACK_DATABASE", "gi_stack"))
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--no-proxy-cache", action="store_true", help="nginx without its cache")
    parser.add_argument("--drop-database", action="store_true", help="down: drop it if up made it")
    args = parser.parse_args(argv)
    run_dir = args.run_dir.resolve()
    try:
        if args.command == "up":
            up(run_dir, args.port, args.database, args.nodes, not args.no_proxy_cache)
            print(f"Stack up: http://127.0.0.1:{args.port}/ (make stack-down to stop)")
        elif args.command == "down":
            if down(run_dir, args.drop_database) is None:
                print(f"Nothing recorded in {run_dir}: nothing to stop")
            else:
                print(f"Stack down (logs kept in {run_dir / 'logs'}).")
        else:
            state = new_state(run_dir, args.port, args.nodes)
            state.database_url = os.environ.get("DATABASE_URL", "postgresql://...")
            state.redis_url = os.environ.get("REDIS_URL", f"redis://{REDIS_HOST}:{REDIS_PORT}/0")
            render(state, run_dir, proxy_cache=not args.no_proxy_cache)
            print(f"Rendered into {run_dir}")
    except StackError as exc:
        print(f"stack {args.command} failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
