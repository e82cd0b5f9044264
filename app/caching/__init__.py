"""The caching wing: rendered responses kept per process and answered again, by Flask and
by a WSGI middleware in front of it.

- store.py: the cache entry (status, headers, body, validators), the per-process store,
  the catalogue generation that invalidates it, and the one key builder.
- routes.py: `CachedRoute` (how one kind of route is cached) and `cached_response`, used by
  every cached route (public pages, passports, API answers, data downloads).
- middleware.py: answers cached entries before Flask's dispatch for the routes marked
  cacheable; installed by create_app (app/__init__.py).

The flush hook that bumps the generation is app/services/flush.py."""
