"""Middleware of the whole site: answers that hold case data are never stored by a cache."""

from __future__ import annotations

from django.conf import settings
from django.utils.cache import patch_cache_control


class NoStoreMiddleware:
    """Mark every answer but static files ``Cache-Control: no-store``.

    The API, the feed, the pages, the exports, the admin and even error pages can carry case
    data or sensitive values; neither a shared cache on the way nor the browser's own cache
    may keep them. Static files (served by WhiteNoise) keep their long cache lifetimes.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        static = settings.STATIC_URL or "static/"
        self.static_prefix = "/" + static.lstrip("/")

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(self.static_prefix):
            patch_cache_control(response, no_store=True)
        return response
