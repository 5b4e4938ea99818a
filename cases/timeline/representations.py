"""The subject's representation after a change, stored with its event (like ``data.object``).

Each subject type has one representer: how to read the subject row as the API reads it and
the serializer that writes it. The API registers them when the application is ready
(``cases.api.representations``), so the services and the sinks never import the API layer;
a sink asks :func:`represent` for the row it has just written.

The representation is the subject's own row as ``GET`` of its resource returns it, less what
belongs to other subjects or is computed from them (each representer says which keys), and
unredacted: the feed withholds sensitive values for each reader as the API does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model, QuerySet

#: The one JSON form of a representation (uuids as text), as the API's renderer writes it.
_normalise_encode = DjangoJSONEncoder(ensure_ascii=False, allow_nan=False).encode


@dataclass(frozen=True)
class Representer:
    """How one subject type is represented on its events.

    ``queryset`` reads the row with the joins its serializer needs; ``serializer`` writes it
    (read-only, no request); ``prefetched`` names the reverse relations the serializer
    reads, which a sink that holds rows in memory fills in itself.
    """

    subject_type: str
    queryset: Callable[[], QuerySet]
    serializer: type
    prefetched: tuple[str, ...] = field(default=())

    def represent(self, row: Model) -> dict[str, Any]:
        """Return ``row``'s representation as plain JSON values."""
        # One serializer per thread, its fields built once: building them for every event
        # cost more than the rest of a bulk load's work per event.
        serializer = getattr(_SERIALIZERS, self.subject_type, None)
        if serializer is None:
            serializer = self.serializer(context={"sensitive_allowed": True})
            setattr(_SERIALIZERS, self.subject_type, serializer)
        return json.loads(_normalise_encode(serializer.to_representation(row)))


_SERIALIZERS = threading.local()


#: Every subject type events name (``Model._meta.model_name``); each has a representer and an
#: endpoint.
SUBJECT_TYPES: tuple[str, ...] = (
    "case",
    "person",
    "party",
    "source",
    "statedintention",
    "request",
    "riskassessment",
    "position",
    "occurrence",
    "note",
    "identitydocument",
    "externalidentifier",
    "nationalityclaim",
    "place",
    "movement",
    "capturecard",
    "notification",
    "notificationsettings",
    "task",
    "document",
    "exchange",
    "handover",
    "visit",
    "interview",
)

_REPRESENTERS: dict[str, Representer] = {}


def register(representer: Representer) -> None:
    """Make ``representer`` the one of its subject type."""
    _REPRESENTERS[representer.subject_type] = representer


def representer_for(subject_type: str) -> Representer | None:
    """Return the representer of ``subject_type``, or None when it has none."""
    return _REPRESENTERS.get(subject_type)


def subject_types() -> frozenset[str]:
    """Return the subject types that have a representer (and an endpoint)."""
    return frozenset(_REPRESENTERS)


def subject_version(subject: Model) -> int | None:
    """Return the subject row's version after the change, or None for rows without one."""
    return getattr(subject, "version", None)
