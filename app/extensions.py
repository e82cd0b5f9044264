"""Extension objects, created unbound; the factory binds them. Imports nothing from app."""
from flask_babel import Babel
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

babel = Babel()
migrate = Migrate()
csrf = CSRFProtect()

# Rate limits (report form; the back office adds login). RATELIMIT_STORAGE_URI picks the
# store: memory:// per process by default, redis://127.0.0.1:6379 to share across workers.
from flask_limiter import Limiter  # noqa: E402
from flask_limiter.util import get_remote_address  # noqa: E402

limiter = Limiter(key_func=get_remote_address)
