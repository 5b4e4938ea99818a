"""What every service shares: who acts, version checks, values for the changes diff."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django_countries.fields import Country

from cases.choices import Channel, DatePrecision
from cases.timeline.sinks import ROWS, RowSink

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Actor:
    """Who makes a change and through which channel; stamped on every event."""

    user: AbstractBaseUser | None = None
    channel: str = Channel.SYSTEM
    label: str = ""

    @property
    def display(self) -> str:
        """Return the name shown on the timeline."""
        if self.label:
            return self.label
        if self.user is not None:
            return self.user.get_username()
        return self.channel

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        """Return the actor for changes made by the tracker itself."""
        return cls(user=None, channel=Channel.SYSTEM, label=label)


class StaleObjectError(Exception):
    """The row changed since the caller read it; nothing was written."""

    def __init__(self, obj: models.Model, expected_version: int):
        self.obj = obj
        self.expected_version = expected_version
        self.current_version = obj.version
        super().__init__(
            _(
                "%(record)s %(name)s was changed by someone else (you had version %(yours)s, "
                "it is now version %(current)s). Reload it, reapply your change and save again."
            )
            % {
                "record": capfirst(obj._meta.verbose_name),
                "name": obj,
                "yours": expected_version,
                "current": obj.version,
            }
        )


def writes(service: F) -> F:
    """Run ``service`` in a transaction with the row sink, unless the caller gives a sink.

    A caller that passes ``sink=`` (the demo generator's bulk sink) owns the transaction.
    """

    @functools.wraps(service)
    def run(*args: Any, sink: RowSink | None = None, **kwargs: Any):
        if sink is None:
            with transaction.atomic():
                return service(*args, sink=ROWS, **kwargs)
        return service(*args, sink=sink, **kwargs)

    return run  # type: ignore[return-value]


def check_version(obj: models.Model, expected_version: int | None) -> None:
    """Raise ``StaleObjectError`` when ``obj`` is no longer at ``expected_version``."""
    if expected_version is not None and int(expected_version) != obj.version:
        raise StaleObjectError(obj, int(expected_version))


def reference(row: models.Model | None) -> dict[str, str] | str | None:
    """Return a referenced row as the changes diff records it: ``{"uuid", "label"}``.

    The uuid is the row's id in the API; the label is what a person reads (a statement's is
    worded by the vocabulary). A user has no uuid: his username is his id in the API, so it
    is recorded as it is.
    """
    if row is None:
        return None
    # Stored and read by everyone: worded in English, as the timeline's summaries are.
    with translation.override("en"):
        return _reference(row)


def _reference(row: models.Model) -> dict[str, str] | str:
    row_uuid = getattr(row, "uuid", None)
    if row_uuid is None:
        return str(row)
    model_name = row._meta.model_name
    if model_name == "statedintention":
        from cases.timeline.vocabulary import intention_label

        text = intention_label(row)
    elif model_name == "request":
        from cases.timeline.vocabulary import request_label

        text = request_label(row)
    else:
        text = str(row)
    return {"uuid": str(row_uuid), "label": text}


#: Values the changes diff records as they are (checked first: they are most values).
_AS_IS = frozenset({str, int, bool, float})


def plain(value: Any) -> Any:
    """Return ``value`` as JSON for the changes diff: references for rows, ISO for dates."""
    if value is None or type(value) in _AS_IS:
        return value
    if isinstance(value, Country):
        # Its code; asking for ``name`` (as the duck test below does) translates it.
        return value.code or ""
    if isinstance(value, models.Model):
        return reference(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "code") and hasattr(value, "name"):  # django_countries Country
        return value.code or ""
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


_MULTIPLE: dict[tuple[type, str], bool] = {}


def field_value(obj: models.Model, name: str) -> Any:
    """Return a field of ``obj`` as the changes diff records it."""
    value = getattr(obj, name)
    key = (type(obj), name)
    multiple = _MULTIPLE.get(key)
    if multiple is None:
        # CountryField(multiple=True) holds a list of countries.
        multiple = _MULTIPLE[key] = getattr(obj._meta.get_field(name), "multiple", False)
    if multiple:
        return [plain(item) for item in value]
    return plain(value)


def created_changes(
    obj: models.Model, names: Iterable[str], *, empty: tuple = (None, "")
) -> dict[str, list[Any]]:
    """Return ``{field: [None, value]}`` for the fields of a new row that hold something."""
    changes = {}
    for name in names:
        value = field_value(obj, name)
        if value not in empty:
            changes[name] = [None, value]
    return changes


def date_to_datetime(day: dt.date) -> dt.datetime:
    """Return midnight UTC of ``day``: when an event known to the day happened."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def occurred(occurred_on: dt.date | None, occurred_precision: str) -> dict[str, Any]:
    """Return an event draft's ``occurred_at`` and ``occurred_precision`` for a change said
    to have happened on ``occurred_on`` (none: when it was recorded, exactly)."""
    if occurred_on is None:
        return {"occurred_at": None, "occurred_precision": DatePrecision.EXACT}
    return {"occurred_at": date_to_datetime(occurred_on), "occurred_precision": occurred_precision}


def refuse_merged(person, field: str = "person") -> None:
    """Refuse to write onto a merged person (a tombstone): nothing new hangs on him.

    A row written onto him would be hidden with him (lists and searches leave him out) and
    moved by no merge; the write belongs on the person he was merged into.
    """
    if person is not None and person.merged_into_id is not None:
        survivor = type(person)._base_manager.filter(pk=person.merged_into_id).first()
        raise ValidationError(
            {
                field: _("%(person)s was merged into %(survivor)s (%(uuid)s); use that person.")
                % {"person": person, "survivor": survivor, "uuid": survivor.uuid}
            }
        )


def refuse_unknown(fields: Iterable[str], allowed: Iterable[str], what: str) -> None:
    """Refuse fields a creating service does not take."""
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        # ``what`` (an English noun) stays out of the message, which a reader gets translated.
        raise ValidationError(dict.fromkeys(unknown, _("Unknown field.")))


def apply_fields(
    obj: models.Model, fields: Mapping[str, Any], allowed: Iterable[str]
) -> dict[str, list[Any]]:
    """Set ``fields`` on ``obj`` and return ``{field: [old, new]}`` for those that changed."""
    allowed = set(allowed)
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ValidationError(
            {
                name: _("This field cannot be changed here. Allowed: %(allowed)s.")
                % {"allowed": ", ".join(sorted(allowed))}
                for name in unknown
            }
        )
    changes: dict[str, list[Any]] = {}
    for name, new in fields.items():
        old_plain = field_value(obj, name)
        setattr(obj, name, new)
        new_plain = field_value(obj, name)
        if old_plain != new_plain:
            changes[name] = [old_plain, new_plain]
    return changes


def versioned_change(
    obj: models.Model,
    *,
    expected_version: int | None,
    fields: Mapping[str, Any],
    allowed: Iterable[str],
) -> dict[str, list[Any]]:
    """Check the caller's version of a locked row, then apply ``fields``; return the changes."""
    check_version(obj, expected_version)
    return apply_fields(obj, fields, allowed)


def save_new_version(sink: RowSink, obj: models.Model, *, exclude: Iterable[str] = ()) -> None:
    """Validate a changed row, bump its version and store it."""
    sink.validate(obj, exclude=exclude)
    obj.version += 1
    sink.save(obj)
