"""The access policy: for one user, what he may read, filter, search, write, and what is logged.

One table, one question per surface. The API, the change feed, the case pages, the charts and
the exports ask :func:`policy_for` instead of checking permissions themselves:

* **read**: a model's rows need ``cases.view_<model>``; the pages, their charts and the
  exports need ``cases.view_case`` (``PAGES_PERMISSION``), exports ``cases.export_cases`` too;
* **sensitive**: the fields listed in :mod:`cases.security.sensitive` are withheld unless the user
  holds ``cases.view_sensitive``; the list of fields stays there;
* **filter, order, search**: only through the declared filters of the shared FilterSets
  (:mod:`cases.filters`), none of which reads a sensitive field; the name search covers
  hidden name variants only for users who may see them;
* **write**: ``cases.add_<model>`` or ``cases.change_<model>``; a write that names a
  sensitive field, or a name variant that is not a pseudonym, needs ``cases.view_sensitive``
  as well, so that a writer cannot destroy or probe what he cannot read;
* **log**: a user who may see sensitive values has each read of one logged
  (:mod:`cases.security.access`); nobody else is shown any, so nothing of theirs is logged;
* **second factor**: an account that may see sensitive values or change case data signs in
  with a one-time code when two-factor is on.

Permissions are read from the user object of the current request: Django's permission cache
lives on that object, which the session and token authentication load afresh for every
request, so a user removed from a group loses the group's permissions at his next request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cases.security import sensitive
from cases.security.access import CASE_DATA_MODELS

APP = "cases"
#: The permission the analysts' pages, their charts and the exports need.
PAGES_PERMISSION = f"{APP}.view_case"

#: What the name search (``q``) matches, per model: the reference, the working name (often
#: a pseudonym by design) and the name variants the reader may see.
SEARCHES: Mapping[str, tuple[str, ...]] = {
    "case": ("reference", "working_name", sensitive.NAMES),
    "person": ("working_name", sensitive.NAMES),
    "party": ("name", "short_name"),
    "source": ("title", "publisher"),
}


def _filtersets() -> dict[str, Any]:
    from cases import filters
    from cases.documents import filters as document_filters
    from cases.exchanges import filters as exchange_filters
    from cases.identity import filters as identity_filters
    from cases.places import filters as place_filters
    from cases.tasks import filters as task_filters
    from cases.visits import filters as visit_filters

    return {
        "case": filters.CaseFilterSet,
        "person": filters.PersonFilterSet,
        "party": filters.PartyFilterSet,
        "source": filters.SourceFilterSet,
        "statedintention": filters.IntentionFilterSet,
        "request": filters.RequestFilterSet,
        "riskassessment": filters.RiskAssessmentFilterSet,
        "position": filters.PositionFilterSet,
        "occurrence": filters.OccurrenceFilterSet,
        "note": filters.NoteFilterSet,
        "identitydocument": identity_filters.IdentityDocumentFilterSet,
        "externalidentifier": identity_filters.ExternalIdentifierFilterSet,
        "nationalityclaim": identity_filters.NationalityClaimFilterSet,
        "place": place_filters.PlaceFilterSet,
        "movement": place_filters.MovementFilterSet,
        "capturecard": place_filters.CaptureCardFilterSet,
        "notification": filters.NotificationFilterSet,
        "task": task_filters.TaskFilterSet,
        "document": document_filters.DocumentFilterSet,
        "exchange": exchange_filters.ExchangeFilterSet,
        "handover": exchange_filters.HandoverFilterSet,
        "visit": visit_filters.VisitFilterSet,
        "interview": visit_filters.InterviewFilterSet,
    }


def filter_names(model_name: str) -> frozenset[str]:
    """Return the query parameters that filter ``model_name``'s lists (ordering aside)."""
    filterset = _filtersets().get(model_name)
    if filterset is None:
        return frozenset()
    return frozenset(name for name in filterset.base_filters if name != "ordering")


def order_names(model_name: str) -> frozenset[str]:
    """Return the fields ``model_name``'s lists may be ordered by."""
    filterset = _filtersets().get(model_name)
    ordering = filterset.base_filters.get("ordering") if filterset else None
    if ordering is None:
        return frozenset()
    return frozenset(ordering.param_map)


def filtered_fields(model_name: str) -> frozenset[str]:
    """Return the model fields (first part of the lookup) that the declared filters read."""
    filterset = _filtersets().get(model_name)
    if filterset is None:
        return frozenset()
    fields = set()
    for name, declared in filterset.base_filters.items():
        if name == "ordering":
            fields.update(field.split("__")[0] for field in declared.param_map.values())
        elif getattr(declared, "method", None) is None:
            fields.add(declared.field_name.split("__")[0])
    return frozenset(fields)


@dataclass(frozen=True)
class Policy:
    """What one user may do; ask :func:`policy_for` for it."""

    user: Any

    @property
    def signed_in(self) -> bool:
        """Return whether the user is an active, signed-in account."""
        user = self.user
        return bool(
            user is not None
            and getattr(user, "is_authenticated", False)
            and getattr(user, "is_active", False)
        )

    def may(self, permission: str) -> bool:
        """Return whether the user holds ``permission`` (an ``app.codename``)."""
        return self.signed_in and self.user.has_perm(permission)

    # Reading --------------------------------------------------------------------------

    def may_read(self, model_name: str) -> bool:
        """Return whether the user may read rows of ``model_name``."""
        return self.may(f"{APP}.view_{model_name}")

    @property
    def may_use_pages(self) -> bool:
        """Return whether the user may open the case list, case pages and charts."""
        return self.may(PAGES_PERMISSION)

    @property
    def may_export(self) -> bool:
        """Return whether the user may download exports of cases."""
        return self.may_use_pages and self.may(sensitive.EXPORT_CASES)

    @cached_property
    def sees_sensitive(self) -> bool:
        """Return whether sensitive values are shown to the user."""
        return sensitive.can_view_sensitive(self.user)

    def sensitive_fields(self, model_name: str) -> tuple[str, ...]:
        """Return the sensitive fields of ``model_name`` (whoever reads)."""
        return tuple(sensitive.SENSITIVE_FIELDS.get(model_name, ()))

    def hidden_fields(self, model_name: str) -> tuple[str, ...]:
        """Return the fields of ``model_name`` withheld from the user."""
        return () if self.sees_sensitive else self.sensitive_fields(model_name)

    def may_read_contents(self, model_name: str) -> bool:
        """Return whether the user may download the contents of ``model_name``'s files.

        A document's contents can hold anything a case holds (a letter names his family, a
        recording is his voice): reading them needs the right to read the rows and to see
        sensitive values.
        """
        return self.may_read(model_name) and self.sees_sensitive

    @property
    def logs_reads(self) -> bool:
        """Return whether the user's reads of sensitive values are logged (he sees some)."""
        return self.sees_sensitive

    # Filtering, ordering, searching --------------------------------------------------

    def may_filter(self, model_name: str, name: str) -> bool:
        """Return whether ``name`` is a filter the user may apply to ``model_name``'s lists."""
        return self.may_read(model_name) and name in filter_names(model_name)

    def may_order(self, model_name: str, field: str) -> bool:
        """Return whether the user may order ``model_name``'s lists by ``field``."""
        return self.may_read(model_name) and field.lstrip("-") in order_names(model_name)

    def searched_fields(self, model_name: str) -> tuple[str, ...]:
        """Return what the name search matches for the user (hidden variants only if shown)."""
        return SEARCHES.get(model_name, ())

    @property
    def searches_hidden_names(self) -> bool:
        """Return whether the name search may match non-pseudonymous name variants."""
        return self.sees_sensitive

    # Writing -------------------------------------------------------------------------

    def may_write(self, model_name: str, verb: str = "change") -> bool:
        """Return whether the user may ``verb`` ("add" or "change") rows of ``model_name``."""
        return self.may(f"{APP}.{verb}_{model_name}")

    @property
    def may_change_case_data(self) -> bool:
        """Return whether the user may add or change any case data."""
        return any(
            self.may_write(model, verb) for model in CASE_DATA_MODELS for verb in ("add", "change")
        )

    def refused_write_fields(self, model_name: str, data: Any) -> list[str]:
        """Return the sensitive fields a write of ``data`` names that the user may not write.

        A writer who may not read a sensitive field may not write it either: writing would
        overwrite what he cannot see, and whether the version moved would tell him if his
        guess was right. ``names`` counts when it holds a variant that is not a pseudonym.
        """
        if self.sees_sensitive or not isinstance(data, Mapping):
            return []
        refused = []
        for field in self.sensitive_fields(model_name):
            if field not in data:
                continue
            if field == sensitive.NAMES:
                names = data[field]
                if isinstance(names, list) and not any(
                    isinstance(name, Mapping) and sensitive.is_hidden_name(name) for name in names
                ):
                    continue
            refused.append(field)
        return refused

    # Signing in ----------------------------------------------------------------------

    @property
    def needs_second_factor(self) -> bool:
        """Return whether the user must sign in with a one-time code when two-factor is on."""
        if not self.signed_in:
            return False
        return (
            self.user.is_superuser
            or self.user.is_staff
            or self.sees_sensitive
            or self.may_change_case_data
        )


def policy_for(user) -> Policy:
    """Return the access policy of ``user`` (anonymous, or an account)."""
    return Policy(user)
