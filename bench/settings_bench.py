"""Settings of the server the side-by-side benchmark starts: production settings plus a URL conf.

Everything comes from :mod:`tracker.settings` (the environment decides as for ``make
serve``); only ``ROOT_URLCONF`` differs, so the same gunicorn also serves the peer and the
floor (``bench/urls.py``). Nothing outside ``bench/`` loads this module.
"""

from tracker.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
