"""Extension objects, created unbound; the factory binds them. Imports nothing from app."""
from flask_babel import Babel
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

babel = Babel()
migrate = Migrate()
csrf = CSRFProtect()
