"""Several processes on one database: two app servers each with their own index (scale
out), a writer killed between the database commit and the index write, and two processes
writing at once. Real subprocesses: `flask run` servers and `flask search` commands."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def environment(database_url: str, instance: Path, media: Path) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        INSTANCE_PATH=str(instance),
        MEDIA_ROOT=str(media),
        APP_ENV="development",
        SECRET_KEY="test",
        PYTHONWARNINGS="error",
        # Each node's own index kept by the outbox: Whoosh's way of scaling out (the
        # PostgreSQL engine has one shared index and nothing to apply).
        SEARCH_BACKEND="whoosh",
    )
    return env


def run(args, env, timeout=120):
    result = subprocess.run(
        FLASK + args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.read().decode()


def start_server(env) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        FLASK + ["run", "--port", str(port), "--no-reload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            fetch(port, "/healthz")
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(proc.stderr.read().decode())


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stderr:
        proc.stderr.close()
    if proc.stdout:
        proc.stdout.close()


def set_status(database_url: str, slug: str, status: str) -> None:
    """Change a listing the way the app does (ORM session: the outbox hook runs)."""
    code = (
        "import sys; from app import create_app; from app.db import db; "
        "from app.models import Product, PublicationStatus; from sqlalchemy import select\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        f"    p = db.session.scalar(select(Product).where(Product.slug == {slug!r}))\n"
        f"    p.status = PublicationStatus({status!r}); db.session.commit()\n"
    )
    env = environment(database_url, Path("/nonexistent-not-used"), Path("/tmp"))
    env["INSTANCE_PATH"] = str(Path(os.environ.get("TMPDIR", "/tmp")) / "gi-editor")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)


def open_paths(pid: int) -> set[str]:
    paths = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            paths.add(os.readlink(fd))
        except OSError:
            pass
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6:
            paths.add(parts[5])
    return paths


@pytest.fixture
def shared_db(database_factory):
    url = database_factory()
    if url.startswith("sqlite"):
        engine = create_engine(url)
        with engine.begin() as conn:  # several processes: WAL like the app's own engine
            conn.execute(text("PRAGMA journal_mode=WAL"))
        engine.dispose()
    return url


def test_two_app_servers_each_keep_their_own_index(shared_db, tmp_path, media_root):
    set_status(shared_db, "hele-crab", "draft")
    nodes = []
    try:
        for name in ("a", "b"):
            env = environment(shared_db, tmp_path / name, media_root)
            run(["search", "reindex"], env)
            nodes.append(start_server(env))
        query = "/search?q=" + urllib.parse.quote("和乐蟹")
        for _proc, port in nodes:
            assert "/products/hele-crab" not in fetch(port, query)
        set_status(shared_db, "hele-crab", "published")  # an editor, through the ORM
        started = time.monotonic()
        found = set()
        while time.monotonic() - started < 2.0 and len(found) < 2:
            for _proc, port in nodes:
                if "/products/hele-crab" in fetch(port, query):
                    found.add(port)
        assert len(found) == 2, f"found on {len(found)} of 2 nodes within 2 s"
        for (proc, _), other in zip(nodes, ("b", "a"), strict=True):
            other_dir = str(tmp_path / other)
            assert not [p for p in open_paths(proc.pid) if p.startswith(other_dir)]
        for name in ("a", "b"):
            assert (tmp_path / name / "search" / "CURRENT").exists()
    finally:
        for proc, _ in nodes:
            stop(proc)


def test_a_killed_writer_loses_nothing(shared_db, tmp_path, media_root):
    env = environment(shared_db, tmp_path / "node", media_root)
    run(["search", "reindex"], env)
    worker = subprocess.Popen(
        FLASK + ["search", "worker", "--interval", "0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.5)
        worker.send_signal(signal.SIGSTOP)  # the writer hangs ...
        set_status(shared_db, "hele-crab", "archived")  # ... the database commit happens ...
        worker.kill()  # ... and the writer dies before writing the index
        worker.wait()
    finally:
        stop(worker)
    # After restart (a catch-up), the change is in the index and nothing differs.
    assert "Applied 1 outbox rows." in run(["search", "apply"], env)
    assert "Index and database agree." in run(["search", "check"], env)


def test_two_processes_writing_at_once_lose_nothing(shared_db, tmp_path, media_root):
    env = environment(shared_db, tmp_path / "node", media_root)
    run(["search", "reindex"], env)
    workers = [
        subprocess.Popen(
            FLASK + ["search", "worker", "--interval", "0.05"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    editor = (
        "import sys; from app import create_app; from app.db import db; "
        "from app.models import Product; from sqlalchemy import select\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    for i in range(15):\n"
        "        p = db.session.scalar(select(Product).where(Product.slug == sys.argv[1]))\n"
        "        p.name_en = f'{sys.argv[2]} edition {i}'\n"
        "        db.session.commit()\n"
    )
    editor_env = dict(env, INSTANCE_PATH=str(tmp_path / "editor"))
    try:
        editors = [
            subprocess.Popen([sys.executable, "-c", editor, slug, word], cwd=ROOT, env=editor_env)
            for slug, word in (("hele-crab", "Alpha"), ("sanya-mango", "Bravo"))
        ]
        for proc in editors:
            assert proc.wait(120) == 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if (
                "Index and database agree."
                in subprocess.run(
                    FLASK + ["search", "check"], cwd=ROOT, env=env, capture_output=True, text=True
                ).stdout
            ):
                break
            time.sleep(0.3)
    finally:
        for proc in workers:
            stop(proc)
    assert "Index and database agree." in run(["search", "check"], env)
