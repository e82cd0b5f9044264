import traceback
from app import errors
orig = errors.handle_unexpected_error
def h(e):
    traceback.print_exception(e)
    return orig(e)
errors.handle_unexpected_error = h
