"""What scripts/stack.py renders and removes, without starting anything: the static-hash
map nginx marks immutable by, the bilingual 413 page, the per-database login-limit prefix,
a config nginx accepts, and a down that leaves only logs and data behind."""

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.static_urls import content_hash

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("stack_script", ROOT / "scripts" / "stack.py")
assert _spec and _spec.loader
stack = importlib.util.module_from_spec(_spec)
sys.modules["stack_script"] = stack  # dataclasses look their module up
_spec.loader.exec_module(stack)


@pytest.fixture
def rendered(tmp_path):
    state = stack.new_state(tmp_path, 18431, 2)
    state.database_url = "postgresql+psycopg://postgres@127.0.0.1:5432/gi_stack_two"
    state.redis_url = "redis://127.0.0.1:6379/0"
    stack.render(state, tmp_path)
    state.save(tmp_path / "state.json")
    return tmp_path


def test_only_the_current_hash_of_each_static_file_is_immutable(rendered):
    lines = (rendered / "nginx" / "static_hashes.map").read_text().splitlines()
    css = ROOT / "static" / "css" / "site.css"
    assert f'"/static/css/site.css?v={content_hash(str(css))}" "{stack.IMMUTABLE}";' in lines
    assert len(lines) == sum(1 for p in (ROOT / "static").rglob("*") if p.is_file())
    conf = (rendered / "nginx" / "nginx.conf").read_text()
    assert 'default "public, max-age=300";' in conf  # any other v=, or none
    assert "$arg_v" not in conf


@pytest.mark.parametrize(
    "text",
    ["What was sent is too large", "发送的内容太大", "Nothing was received.", "未能接收"],
)
def test_the_413_page_nginx_serves_is_bilingual(rendered, text):
    assert text in (rendered / "nginx" / "errors" / "413.html").read_text()
    conf = (rendered / "nginx" / "nginx.conf").read_text()
    assert "error_page 413 /_errors/413.html;" in conf


def test_the_cached_location_alone_names_its_key_language_to_the_app(rendered):
    conf = (rendered / "nginx" / "nginx.conf").read_text()
    assert re.findall(r"set \$cache_language (\S+);", conf) == ['""', "$page_lang"]
    params = (rendered / "nginx" / "proxy_params.conf").read_text()
    assert "proxy_set_header X-Cache-Language $cache_language;" in params


def test_login_limits_are_counted_per_database(rendered):
    env = (rendered / "stack.env").read_text()
    assert "RATELIMIT_KEY_PREFIX=gi-catalogue-gi_stack_two\n" in env


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is a system dependency")
def test_nginx_accepts_the_rendered_config(rendered):
    done = subprocess.run(
        ["nginx", "-t", "-q", "-p", str(rendered / "nginx"), "-c", "nginx.conf"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_down_removes_what_up_wrote_and_keeps_logs_and_data(rendered, capsys):
    (rendered / "logs" / "node_a.log").write_text("kept")
    (rendered / "media").mkdir()
    (rendered / stack.CREATED_DATABASE).write_text("gi_stack_two\n")
    assert stack.main(["down", "--run-dir", str(rendered)]) == 0
    left = sorted(p.name for p in rendered.iterdir())
    assert left == sorted(["logs", "media", stack.CREATED_DATABASE])
    assert stack.main(["down", "--run-dir", str(rendered)]) == 0  # a second down
    assert "nothing to stop" in capsys.readouterr().out
