"""Gunicorn settings for serving the tracker in production (``make serve``).

Every value can be overridden from the environment, so one file serves a laptop and a
server: ``WEB_CONCURRENCY`` (worker processes, default two per core plus one),
``GUNICORN_THREADS`` (threads per worker, default 1), ``GUNICORN_BIND`` (default
127.0.0.1:8000: only a reverse proxy on the same host should reach it),
``GUNICORN_TIMEOUT`` (seconds, default 30), ``GUNICORN_MAX_REQUESTS``,
``GUNICORN_LOG_LEVEL`` and ``GUNICORN_CONTROL_SOCKET``; ``DJANGO_CONN_MAX_AGE`` defaults to 60
here (persistent database connections) instead of the settings' 0. docs/deploy.md says why these
defaults and what the load test measured. The access log is off: the application writes
one JSON line per request itself (tracker/logs.py), with more detail.
"""

import multiprocessing
import os

wsgi_app = "tracker.wsgi:application"
# Workers keep their database connection between requests (seconds; the settings check a
# kept connection before reusing it): a new connection per request costs a few ms. Set
# DJANGO_CONN_MAX_AGE=0 behind a pooler in transaction mode. Read when the settings load,
# which is after this file (preload_app).
os.environ.setdefault("DJANGO_CONN_MAX_AGE", "60")
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Threads per worker (GUNICORN_THREADS, default 1: synchronous workers, whose timeout bounds
# each request). More than one switches to gthread workers, each thread with its own
# database connection: quick requests then pass slow ones, but no more CPU is used.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound; jitter keeps them
# from restarting all at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
# Request lines up to gunicorn's maximum reach Django, which answers an address longer than
# DJANGO_MAX_URL_LENGTH (4096 by default) under /api/ with a JSON problem (414). Beyond
# 8190 bytes gunicorn answers 414 itself, in plain text.
limit_request_line = 8190
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Import the application once in the master, so workers fork with it already loaded.
preload_app = True
# Gunicorn's control socket (a Unix socket for the gunicornc tool) is off unless a path is
# given: by default every gunicorn on a host would share one path under the user's home.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True
