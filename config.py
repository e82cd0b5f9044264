"""Configuration classes. Secrets and paths come from the environment; the defaults run
on a laptop (SQLite and the Whoosh index under instance/)."""

import os
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))


def database_url(default: str) -> str:
    """Normalise DATABASE_URL so PostgreSQL always goes through psycopg 3."""
    url = os.environ.get("DATABASE_URL", default)
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def trusted_hosts(site_base_url: str) -> list[str] | None:
    """Host names the site answers to (Flask's TRUSTED_HOSTS; others get 400). From
    TRUSTED_HOSTS, comma-separated ("*" = any: only behind a proxy that checks Host itself);
    by default SITE_BASE_URL's host plus the loopback names (IPv4 and IPv6), so `make run`
    works. Matching ignores case and a trailing dot (app/hosts.py)."""
    raw = os.environ.get("TRUSTED_HOSTS", "").strip()
    if raw == "*":
        return None
    if raw:
        return [host.strip().lower() for host in raw.split(",") if host.strip()]
    own = urlsplit(site_base_url).hostname
    return list(dict.fromkeys(h for h in (own, "localhost", "127.0.0.1", "::1") if h))


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-secret-change-me")
    SQLALCHEMY_DATABASE_URI = database_url(f"sqlite:///{INSTANCE_DIR / 'catalogue.sqlite3'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    INSTANCE_DIR = INSTANCE_DIR
    MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", INSTANCE_DIR / "media"))
    SEED_DIR = BASE_DIR / "seed"
    # Public base URL for absolute links (sitemap, OpenGraph, QR codes): never the Host header.
    SITE_BASE_URL = os.environ.get("SITE_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    TRUSTED_HOSTS = trusted_hosts(SITE_BASE_URL)
    SITE_NAME_ZH = os.environ.get("SITE_NAME_ZH", "海南地理标志产品目录")
    SITE_NAME_EN = os.environ.get("SITE_NAME_EN", "Hainan Geographical Indications Catalogue")
    LANGUAGES = ("zh", "en")
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "app" / "translations")
    LANG_COOKIE = "lang"
    # Rendered public pages are cached per process; the catalogue generation stored in the
    # database is re-read at most this often, so a publish shows within this many seconds.
    PAGE_CACHE_CHECK_SECONDS = float(os.environ.get("PAGE_CACHE_CHECK_SECONDS", "1.0"))
    # 0 turns the in-app page cache off (README, "Deployment": what it earns behind nginx).
    PAGE_CACHE_MAX_ENTRIES = int(os.environ.get("PAGE_CACHE_MAX_ENTRIES", "2000"))
    # Behind the stack's nginx (deploy/nginx.conf.j2): every public, cacheable answer says
    # X-Accel-Expires: @<this second>, so nginx keeps it to the end of the second it was
    # fetched in (nginx counts whole seconds: "1s" would mean up to 2 s).
    PROXY_CACHE_SECONDS_ALIGNED = os.environ.get("PROXY_CACHE_SECONDS_ALIGNED", "0") == "1"
    # PostgreSQL time limits per connection (ms; 0 = none): a request waiting longer for a
    # row lock, or running a statement longer, is stopped, rolled back and answered with
    # the translated 503 + Retry-After (app/errors.py). Lock waits first: a writer stuck
    # behind another transaction gives up before a slow read would.
    DATABASE_LOCK_TIMEOUT_MS = int(os.environ.get("DATABASE_LOCK_TIMEOUT_MS", "5000"))
    DATABASE_STATEMENT_TIMEOUT_MS = int(os.environ.get("DATABASE_STATEMENT_TIMEOUT_MS", "15000"))
    # /metrics (Prometheus) answers only these client addresses (after TRUSTED_PROXIES):
    # comma-separated networks; the stack's nginx also allows 127.0.0.1 only.
    METRICS_ALLOWED_NETWORKS = os.environ.get("METRICS_ALLOWED_NETWORKS", "127.0.0.1/32,::1/128")
    NODE_NAME = os.environ.get("NODE_NAME", "")
    # How many reverse proxies (nginx) stand in front of gunicorn: their X-Forwarded-For /
    # -Proto are then trusted, so rate limits see the visitor's address, not the proxy's.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    PUBLIC_MAX_AGE = 60
    PER_PAGE = 24
    # Search result pages kept per process (app/search/views.py), ~10-50 KB each; 0: off.
    SEARCH_PAGE_CACHE_ENTRIES = int(os.environ.get("SEARCH_PAGE_CACHE_ENTRIES", "500"))
    # The search engine (app/search/engine.py): "whoosh" (an index on this node's disk,
    # kept in step through the outbox), "postgresql" (full-text search in the site's own
    # PostgreSQL database, written in the listing's transaction: every app server sees a
    # publish at commit) or "auto": postgresql when DATABASE_URL is PostgreSQL, else
    # whoosh. Switching engines: `flask search reindex` fills the new one. Any other value
    # stops the app at start-up.
    SEARCH_BACKEND = os.environ.get("SEARCH_BACKEND", "auto")
    # Processes writing a Whoosh rebuild of 20,000 documents or more (app/search/build.py),
    # each with up to 512 MB of postings in memory; 0: one per CPU, at most 4.
    SEARCH_REBUILD_PROCESSES = int(os.environ.get("SEARCH_REBUILD_PROCESSES", "0"))
    # pypinyin's 40 MB phrase dictionary, loaded into every worker if True. Catalogue names
    # read correctly character by character, and place names carry their own readings
    # (app/search/text.py), so it costs memory and buys nothing here.
    PINYIN_PHRASES = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = 3600 * 8
    # Request bodies (app/request_limits.py): every route takes at most a form's worth of
    # text; views that take a file declare more with @accepts_upload (multipart only).
    MAX_CONTENT_LENGTH = 256 * 1024
    MAX_FORM_MEMORY_SIZE = 256 * 1024  # one text field of a multipart form
    MAX_FORM_PARTS = 1000  # fields (and files) in one form, url-encoded or multipart
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # Back office: idle and absolute session limits, login throttling shared via Redis.
    ADMIN_IDLE_MINUTES = int(os.environ.get("ADMIN_IDLE_MINUTES", "30"))
    ADMIN_SESSION_HOURS = int(os.environ.get("ADMIN_SESSION_HOURS", "12"))
    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"
    # Per deployment (scripts/stack.py names the database): several sites on one Redis
    # count their login limits apart.
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "gi-catalogue")
    # If Redis goes away, keep counting per process rather than failing every login.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = False
    LOGIN_LIMIT_PER_IP = "30 per minute;300 per day"
    # Failed attempts per account; a browser that has logged in to the account before is
    # exempt, so an attacker hammering an address cannot lock its owner out.
    LOGIN_LIMIT_PER_ACCOUNT = "5 per minute;20 per hour"
    # Scan counts are buffered per process and written this often (0 = on every scan).
    SCAN_FLUSH_SECONDS = float(os.environ.get("SCAN_FLUSH_SECONDS", "1.0"))
    REPORT_RATE_LIMIT = os.environ.get("REPORT_RATE_LIMIT", "5 per hour;20 per day")
    OPEN_DATA_LICENCE = "CC BY 4.0"
    OPEN_DATA_LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"


class DevelopmentConfig(Config):
    DEBUG = False  # the dev server is started without the reloader; set FLASK_DEBUG=1 to debug


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret"
    PAGE_CACHE_CHECK_SECONDS = 0.0
    SCAN_FLUSH_SECONDS = 0.0  # write through, so tests read counts at once


class ProductionConfig(Config):
    # Cookies only over https. The local stack (scripts/stack.py) serves plain http on
    # 127.0.0.1 and sets COOKIES_SECURE=0; a public server never does.
    SESSION_COOKIE_SECURE = os.environ.get("COOKIES_SECURE", "1") == "1"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE

    def __init__(self) -> None:
        if not os.environ.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY must be set in production")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    return CONFIGS[os.environ.get("APP_ENV", "development")]
