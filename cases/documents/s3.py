"""The S3 storage of documents, imported only when ``DJANGO_DOCUMENTS_S3_BUCKET`` is set.

It needs django-storages and boto3 (``pip install -r requirements-s3.txt``).
"""

from __future__ import annotations

from storages.backends.s3 import S3Storage

from cases.documents.storage import NO_URL, NoPublicUrl


class PrivateS3Storage(S3Storage):
    """A private bucket whose objects have no URL, not even a pre-signed one."""

    def url(self, name, parameters=None, expire=None, http_method=None):
        raise NoPublicUrl(NO_URL)
