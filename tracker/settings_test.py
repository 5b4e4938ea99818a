"""Settings for the test suite: the project settings with a throwaway secret key."""

import os

from cases.documents import storage as documents_storage

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-any-deployment")
# The test client speaks plain http; tests that need the production behaviour (https
# redirect, secure cookies, two-factor for staff, real rates) turn it on themselves.
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "0")
os.environ.setdefault("DJANGO_REQUIRE_2FA_FOR_STAFF", "0")
# Rates high enough that no other test meets them: the throttle counters live in the
# process-wide memory cache across tests.
os.environ.setdefault("DJANGO_API_RATE_ANON", "100000/minute")
os.environ.setdefault("DJANGO_API_RATE_READ", "100000/minute")
os.environ.setdefault("DJANGO_API_RATE_WRITE", "100000/minute")

# Each process's memory for the cache and the rate-limit counters: the suite asserts query
# counts, which the counters' statements would change; tests/api/test_rate_limits.py runs the
# limits on the database's counter table, as they run by default.
os.environ.setdefault("DJANGO_CACHE_URL", "locmem://")
# A checked token is kept for minutes, not seconds: query counts must not depend on whether a
# slow first answer (its schema validation) outlived the cache time. Every change that narrows
# a token forgets it at once all the same (tests/api/test_credentials_cache.py).
os.environ.setdefault("DJANGO_API_CREDENTIALS_CACHE_SECONDS", "300")

# The suite's connections are not kept between requests, yet every read that is prepared
# where they are must be tested prepared: on PostgreSQL each test runs those reads prepared.
os.environ.setdefault("DJANGO_DB_PREPARED_STATEMENTS", "always")

from tracker.settings import *  # noqa: E402,F403


def _documents_root() -> str:
    import atexit
    import shutil
    import tempfile

    root = tempfile.mkdtemp(prefix="tracker-documents-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast user creation in tests
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # Documents the tests attach go to a folder of the test process, removed when it ends.
    "documents": documents_storage.storage_setting(
        {"DJANGO_DOCUMENTS_ROOT": _documents_root()}, BASE_DIR
    ),
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not Django's default in-memory database: concurrent-writer tests need real
    # connections to one database, which an in-memory database shares only through a
    # cache that refuses them ("table is locked"). One file per test process.
    import tempfile
    from pathlib import Path

    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"tracker-test-{os.getpid()}.sqlite3")
    }
