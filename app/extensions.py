"""Extension objects, created unbound; the factory binds them. Imports nothing from app."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

babel = Babel()
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
# Login and the report form are limited (storage: memory, or Redis when REDIS_URL is set).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
