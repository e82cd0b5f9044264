"""What every benchmark script needs, written once: a throwaway instance of the app
(production config, seeded SQLite), servers started in their own process group and stopped
on the way out, wrk runs and their parsed figures, the machine's idle check, and timing of
in-process calls.

The scripts in bench/ run as files (`python bench/pages.py`): Python puts bench/ on
sys.path, so they import this module as `harness`. bench/ is not a package; the browser
tests import the Chromium settings as `bench.harness`."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
ACCEPT_LANGUAGE = "zh-CN"
WRK_THREADS = 2  # one per core of the 2-core machine the figures are for
# Debian's Chromium, and flags for a closed network (no background calls home, no sandbox
# as root); bench/pages.py and the browser tests (tests/e2e/conftest.py) launch it so.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class BenchError(RuntimeError):
    """A failure that makes the figures meaningless (server down, errors under load)."""


# --- processes and ports -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(cmd: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    """Start a server in its own process group, output to a log file."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen | None, seconds: float = 10) -> None:
    """Stop a server we started (its own process group, by its id): SIGTERM, then SIGKILL
    after `seconds` (gunicorn's workers finish their requests and exit hooks meanwhile)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def get(
    url: str, lang: str = ACCEPT_LANGUAGE, timeout: float = 10, user_agent: str | None = None
) -> bytes:
    headers = {"Accept-Language": lang} | ({"User-Agent": user_agent} if user_agent else {})
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def wait_until_up(url: str, proc: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    """Poll until the server answers; otherwise stop it and fail with its log's tail."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            get(url, timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    exit_code = proc.poll()  # None: still running but not answering
    stop(proc)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise BenchError(f"server did not answer {url} (exit code {exit_code}):\n{tail}")


def run_bench(prefix: str, measure: Callable[[Path, list[subprocess.Popen]], int]) -> int:
    """Run `measure(tmp, servers)` in a fresh temp dir; whatever it appends to `servers` is
    stopped and the dir removed on the way out, and a BenchError is printed as the
    failure it is. Returns the exit code for sys.exit."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    servers: list[subprocess.Popen] = []
    try:
        return measure(tmp, servers)
    except BenchError as exc:
        print(f"BENCH FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        for server in reversed(servers):
            stop(server)
        shutil.rmtree(tmp, ignore_errors=True)


# --- the app instance ----------------------------------------------------------------


def app_env(instance: Path, port: int, **settings: str) -> dict:
    """The environment of a throwaway production instance: SQLite, media and memory under
    `instance`, whatever the caller's shell has set; `settings` added last."""
    env = dict(os.environ)
    for name in ("DATABASE_URL", "MEDIA_ROOT", "REDIS_URL"):
        env.pop(name, None)
    env.update(
        INSTANCE_PATH=str(instance),
        APP_ENV="production",
        SECRET_KEY="bench",
        SITE_BASE_URL=f"http://127.0.0.1:{port}",
        FLASK_APP="wsgi",
        **settings,
    )
    return env


def build_instance(env: dict) -> None:
    """Migrate and seed the instance `env` points at (`flask db upgrade`, `flask seed`)."""
    flask = str(VENV_BIN / "flask")
    for args in (["db", "upgrade"], ["seed"]):
        done = subprocess.run(
            [flask, "--app", "wsgi", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise BenchError(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def start_gunicorn(workers: list[str], port: int, env: dict, tmp: Path) -> subprocess.Popen:
    """gunicorn on 127.0.0.1:port with these worker options, once /healthz answers."""
    log = tmp / f"gunicorn-{port}.log"
    proc = start(
        [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", *workers, "wsgi:app"],
        log,
        env,
    )
    wait_until_up(f"http://127.0.0.1:{port}/healthz", proc, log)
    return proc


# --- wrk -----------------------------------------------------------------------------

# The start of a wrk script that cycles through the paths listed in a file, each thread
# from its own offset; the caller's script adds request() (and done() if it wants one).
ROTATION_LUA = """\
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local threads = {}
counter = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = id * 37
end
"""


def rotation_script(work: Path, name: str, paths: list[str], request_lua: str) -> Path:
    """work/<name>.lua: ROTATION_LUA over `paths` (written to work/<name>.txt), then
    `request_lua`, which picks `paths[(counter % #paths) + 1]`."""
    listing = work / f"{name}.txt"
    listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
    script = work / f"{name}.lua"
    script.write_text(ROTATION_LUA % listing + request_lua, encoding="utf-8")
    return script


def wrk_output(
    url: str, connections: int, seconds: int, script: Path | None = None, lang: str = ""
) -> str:
    """wrk's report of one run (WRK_THREADS threads, `--latency`, 10 s request timeout);
    BenchError if wrk fails. `lang` sends an Accept-Language header; a script may set its
    own headers."""
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    cmd += ["--timeout", "10s"]
    if lang:
        cmd += ["-H", f"Accept-Language: {lang}"]
    if script:
        cmd += ["-s", str(script)]
    done = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 30)
    if done.returncode != 0:
        raise BenchError(f"wrk failed on {url}:\n{done.stdout}{done.stderr}")
    return done.stdout


@dataclass
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bytes_per_request: float
    errors: dict = field(default_factory=dict)


UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
SIZE_BYTES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise BenchError(f"unknown wrk time {text!r}")
    return float(match[1]) * UNIT_MS[match[2]]


def parse_wrk(out: str) -> LoadResult:
    def need(pattern: str) -> re.Match:
        match = re.search(pattern, out, re.MULTILINE)
        if not match:
            raise BenchError(f"wrk output lacks {pattern!r}:\n{out}")
        return match

    total = need(r"^\s*(\d+) requests in [\d.]+\w+, ([\d.]+)(B|KB|MB|GB) read")
    requests = int(total[1])
    errors = {}
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if socket_errors:
        for name, value in zip(
            ("connect", "read", "write", "timeout"), socket_errors.groups(), strict=True
        ):
            if int(value):
                errors[f"socket {name}"] = int(value)
    bad_status = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad_status:
        errors["non-2xx/3xx"] = int(bad_status[1])
    return LoadResult(
        rps=float(need(r"^Requests/sec:\s+([\d.]+)")[1]),
        p50_ms=to_ms(need(r"^\s+50%\s+(\S+)")[1]),
        p99_ms=to_ms(need(r"^\s+99%\s+(\S+)")[1]),
        requests=requests,
        bytes_per_request=float(total[2]) * SIZE_BYTES[total[3]] / max(requests, 1),
        errors=errors,
    )


def run_wrk(url: str, connections: int, seconds: int, **options) -> LoadResult:
    """One wrk run's figures (wrk_output's options); BenchError on any error under load, or
    if no request finished in the run (a machine that busy gives no figure to divide by)."""
    out = wrk_output(url, connections, seconds, **options)
    result = parse_wrk(out)
    if result.errors:
        raise BenchError(f"wrk saw errors on {url}: {result.errors}\n{out}")
    if result.requests == 0:
        raise BenchError(f"no request to {url} finished in {seconds} s\n{out}")
    return result


def print_load(label: str, result: LoadResult) -> None:
    print(
        f"  {label:<26} {result.rps:>9.0f} req/s  p50 {result.p50_ms:>7.2f} ms  "
        f"p99 {result.p99_ms:>7.2f} ms  ({result.requests} requests, "
        f"{result.bytes_per_request / 1024:.1f} KB each)",
        flush=True,
    )


def pass_fail(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# --- the machine and the clock -------------------------------------------------------


def cpu_busy_percent(seconds: float = 1.0) -> float:
    """How busy the whole machine is right now (all CPUs, from /proc/stat): anything well
    above zero while the bench is idle means another process will skew the figures."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            ticks = [int(n) for n in stat.readline().split()[1:]]
        idle = ticks[3] + ticks[4]  # idle + iowait
        return sum(ticks) - idle, sum(ticks)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return 100 * (busy1 - busy0) / max(total1 - total0, 1)


def print_noise(when: str) -> None:
    busy = cpu_busy_percent()
    note = "  (another process is using the CPU: figures will be low and noisy)"
    if busy <= 15:
        note = ""
    print(f"CPU busy {when}: {busy:.0f} %{note}", flush=True)


@dataclass(frozen=True)
class Timing:
    """Wall times of repeated in-process calls, in milliseconds."""

    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[max(int(len(ordered) * 0.95) - 1, 0)]

    @property
    def worst(self) -> float:
        return max(self.samples)


def timed(call: Callable[[], object], rounds: int) -> Timing:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return Timing(samples)
