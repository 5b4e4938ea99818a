"""Where documents' bytes are kept: ``STORAGES["documents"]``, never under a public URL.

The default is a folder of the server (``DJANGO_DOCUMENTS_ROOT``, by default ``var/documents``
beside the checkout), outside the static and media roots, that no route serves. With
``DJANGO_DOCUMENTS_S3_BUCKET`` set, the bytes go to that bucket through django-storages'
S3 backend instead (``requirements-s3.txt``); it is imported only then, so the default needs
neither django-storages nor boto3.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.core.files.storage import FileSystemStorage, Storage, storages

#: The alias of the storage in ``settings.STORAGES``.
ALIAS = "documents"

NO_URL = (
    "Documents have no public address: they are read through /documents/<uuid>/download or "
    "/api/v1/documents/<uuid>/content/, which check who asks and log the read."
)


class NoPublicUrl(NotImplementedError):
    """Raised by ``url()``: documents have no address; they are read through the checked
    download view only. A ``NotImplementedError``, as Django's own storages without URLs
    raise, so code that asks for a URL fails the way Django expects."""


class PrivateFileSystemStorage(FileSystemStorage):
    """A folder of the server whose files have no URL (``url()`` refuses)."""

    def url(self, name):
        raise NoPublicUrl(NO_URL)


class DocumentsStorage(Storage):
    """``storages["documents"]``, looked up at each use rather than when models load.

    A file field keeps the storage it was given for the life of the process; this stand-in
    lets the settings (and tests that change them) decide where each file goes.
    """

    def _target(self) -> Storage:
        return storages[ALIAS]

    def open(self, name, mode="rb"):
        return self._target().open(name, mode)

    def save(self, name, content, max_length=None):
        return self._target().save(name, content, max_length=max_length)

    def delete(self, name):
        return self._target().delete(name)

    def exists(self, name):
        return self._target().exists(name)

    def listdir(self, path):
        return self._target().listdir(path)

    def size(self, name):
        return self._target().size(name)

    def url(self, name):
        return self._target().url(name)

    def path(self, name):
        return self._target().path(name)

    def generate_filename(self, filename):
        return self._target().generate_filename(filename)

    def get_available_name(self, name, max_length=None):
        return self._target().get_available_name(name, max_length=max_length)


_DOCUMENTS = DocumentsStorage()


def documents_storage() -> Storage:
    """Return the storage documents are kept in (a callable, so settings decide at run time)."""
    return _DOCUMENTS


def stored_name(instance, filename: str) -> str:
    """Return a random name for a new file: never the uploaded name, which may say too much.

    Two hex characters of the name make a sub-folder, so no folder holds every file.
    """
    name = uuid.uuid4().hex
    return f"{name[:2]}/{name}"


def storage_setting(environ: Mapping[str, str], base_dir: Path) -> dict[str, Any]:
    """Return ``STORAGES["documents"]`` for the environment ``environ``.

    ``DJANGO_DOCUMENTS_S3_BUCKET`` chooses S3 (with ``DJANGO_DOCUMENTS_S3_PREFIX``,
    ``DJANGO_DOCUMENTS_S3_REGION`` and ``DJANGO_DOCUMENTS_S3_ENDPOINT_URL``; credentials come
    the way boto3 finds them: its environment variables, a profile or an instance role).
    Otherwise ``DJANGO_DOCUMENTS_ROOT``, or ``var/documents`` beside the checkout.
    """
    bucket = environ.get("DJANGO_DOCUMENTS_S3_BUCKET", "").strip()
    if bucket:
        options: dict[str, Any] = {
            "bucket_name": bucket,
            "location": environ.get("DJANGO_DOCUMENTS_S3_PREFIX", "documents").strip("/"),
            # Private objects, no public or pre-signed addresses handed out, never overwritten.
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
            "custom_domain": None,
        }
        if environ.get("DJANGO_DOCUMENTS_S3_REGION"):
            options["region_name"] = environ["DJANGO_DOCUMENTS_S3_REGION"]
        if environ.get("DJANGO_DOCUMENTS_S3_ENDPOINT_URL"):
            options["endpoint_url"] = environ["DJANGO_DOCUMENTS_S3_ENDPOINT_URL"]
        return {"BACKEND": "cases.documents.s3.PrivateS3Storage", "OPTIONS": options}
    root = environ.get("DJANGO_DOCUMENTS_ROOT", "").strip()
    location = Path(root) if root else base_dir.parent / "var" / "documents"
    return {
        "BACKEND": "cases.documents.storage.PrivateFileSystemStorage",
        "OPTIONS": {
            "location": str(location),
            # Owner only: the files are as sensitive as the database.
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }


def environment() -> Mapping[str, str]:
    """Return the process environment (a seam for the settings' tests)."""
    return os.environ
