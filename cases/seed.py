"""Load the seed data: the public case of Ri and Baek, entered through the services.

The seed file (``fixtures/seed.json``) holds the facts as a case officer would enter them:
parties, sources, places of detention, persons and cases, then the ``story``, a list of
steps in the order they happened (occurrences, movements, status changes, statements,
requests, positions, risk assessments, notes, and the persons' identity documents, external
identifiers and nationality claims, each on the person of the step's case). Each step calls
one service with the seed actor, so the rows and the timeline are exactly those a case
officer entering the same facts would have produced; nothing here writes a row itself.

Loading is idempotent on natural keys: a party by name, a source by title, publisher and
publication date, a place by name, a case by reference. What already exists is skipped,
together with the story of a case that already exists, so loading into a database that has
the seed changes nothing. One load is one transaction: a failure leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from cases import services
from cases.choices import Channel
from cases.identity import services as identity
from cases.models import Case, Party, Place, Source, StatedIntention, TimelineEvent
from cases.models import Request as CaseRequest
from cases.places import services as place_services
from cases.services import Actor, NameSpec

#: Who the seed's events are attributed to.
SEED_ACTOR = Actor(user=None, channel=Channel.SEED, label="seed")

#: The seed file ``manage.py load_seed`` reads when given no path.
DEFAULT_SEED_PATH = Path(settings.BASE_DIR) / "fixtures" / "seed.json"

#: What a load counts, in the order it reports them.
COUNTED = (
    "parties",
    "sources",
    "persons",
    "cases",
    "intentions",
    "requests",
    "positions",
    "occurrences",
    "places",
    "movements",
    "risk_assessments",
    "notes",
    "identity_documents",
    "external_identifiers",
    "nationality_claims",
    "events",
)

# Step fields that name another object, and how each is resolved.
_PARTY_FIELDS = (
    "addressed_to",
    "requested_by",
    "heard_by",
    "interpreter_supplied_by",
    "party",
    "assessed_by",
    "issuer",
    "issued_by",
    "claimed_by",
)
_DATE_FIELDS = (
    "stated_on",
    "occurred_on",
    "filed_on",
    "birth_date",
    "capture_date",
    "assessed_on",
    "moved_on",
)


class SeedError(Exception):
    """The seed file is malformed or refers to something it does not define."""


@dataclass
class SeedResult:
    """What one load created and what it found already present."""

    created: Counter = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)

    @property
    def already_present(self) -> bool:
        """Return True when the load created nothing: the seed was already there."""
        return not any(self.created.values())

    def summary(self) -> str:
        """Return the counts as one line, e.g. "18 parties, 12 sources, ..."."""
        return ", ".join(f"{self.created[name]} {name}" for name in COUNTED)


def read_seed(path: str | Path) -> dict[str, Any]:
    """Return the parsed seed file, or raise ``SeedError`` saying what is wrong with it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SeedError(f"No seed file at {path}.") from exc
    except json.JSONDecodeError as exc:
        raise SeedError(f"{path} is not valid JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise SeedError(f"{path} must hold a JSON object.")
    for section in ("parties", "sources", "places", "persons", "cases", "story"):
        if not isinstance(data.get(section, []), list):
            raise SeedError(f"'{section}' in {path} must be a list.")
    return data


def load_seed(path: str | Path | None = None, *, actor: Actor = SEED_ACTOR) -> SeedResult:
    """Load the seed file at ``path`` (default: ``fixtures/seed.json``) in one transaction."""
    data = read_seed(path or DEFAULT_SEED_PATH)
    with transaction.atomic():
        return _SeedLoader(data, actor).run()


def _date(value: Any, where: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise SeedError(f"{where}: {value!r} is not an ISO date (YYYY-MM-DD).") from exc


class _SeedLoader:
    """One pass over a seed file; keeps the objects that later entries refer to by key."""

    def __init__(self, data: dict[str, Any], actor: Actor):
        self.data = data
        self.actor = actor
        self.parties: dict[str, Party] = {}
        self.sources: dict[str, Source] = {}
        self.persons: dict[str, dict[str, Any]] = {}
        # Only cases opened by this load: the story of a case already present is skipped.
        self.cases: dict[str, Case] = {}
        self.present_cases: set[str] = set()
        self.intentions: dict[str, StatedIntention] = {}
        self.requests: dict[str, CaseRequest] = {}
        self.places: dict[str, Place] = {}
        self.result = SeedResult()

    def run(self) -> SeedResult:
        """Load every section in order and return what was created."""
        events_before = TimelineEvent.objects.count()
        for spec in self.data.get("parties", []):
            self._party(spec)
        for spec in self.data.get("sources", []):
            self._source(spec)
        for spec in self.data.get("places", []):
            self._place(spec)
        for spec in self.data.get("persons", []):
            self._remember_person(spec)
        for spec in self.data.get("cases", []):
            self._case(spec)
        skipped_steps = 0
        for number, step in enumerate(self.data.get("story", []), start=1):
            if not self._step(number, step):
                skipped_steps += 1
        if skipped_steps:
            self.result.skipped.append(f"{skipped_steps} story steps of cases already present")
        self.result.created["events"] = TimelineEvent.objects.count() - events_before
        return self.result

    # -- references ----------------------------------------------------------------------

    def _party_ref(self, name: str | None, where: str) -> Party | None:
        if name in (None, ""):
            return None
        try:
            return self.parties[name]
        except KeyError:
            raise SeedError(f"{where}: party {name!r} is not listed under 'parties'.") from None

    def _source_ref(self, key: str | None, where: str) -> Source | None:
        if key in (None, ""):
            return None
        try:
            return self.sources[key]
        except KeyError:
            raise SeedError(f"{where}: source {key!r} is not listed under 'sources'.") from None

    def _keyed(self, table: dict[str, Any], key: str | None, what: str, where: str) -> Any:
        if key in (None, ""):
            return None
        try:
            return table[key]
        except KeyError:
            raise SeedError(f"{where}: {what} {key!r} is not defined by an earlier step.") from None

    def _resolve(self, fields: dict[str, Any], where: str) -> dict[str, Any]:
        """Return ``fields`` with party names, source keys and dates turned into values."""
        resolved = dict(fields)
        for name in _PARTY_FIELDS:
            if name in resolved:
                resolved[name] = self._party_ref(resolved[name], where)
        if "source" in resolved:
            resolved["source"] = self._source_ref(resolved["source"], where)
        for name in _DATE_FIELDS:
            if name in resolved:
                resolved[name] = _date(resolved[name], where)
        if "intention" in resolved:
            resolved["intention"] = self._keyed(
                self.intentions, resolved["intention"], "intention", where
            )
        return resolved

    # -- reference data ------------------------------------------------------------------

    def _party(self, spec: dict[str, Any]) -> None:
        spec = dict(spec)
        name = spec.pop("name")
        existing = Party.objects.filter(name=name).first()
        if existing is not None:
            self.parties[name] = existing
            self.result.skipped.append(f"party {name}")
            return
        parent = self._party_ref(spec.pop("parent", None), f"party {name}")
        self.parties[name] = services.party_create(
            actor=self.actor, name=name, parent=parent, **spec
        )
        self.result.created["parties"] += 1

    def _source(self, spec: dict[str, Any]) -> None:
        spec = dict(spec)
        key = spec.pop("key")
        where = f"source {key}"
        spec["published_on"] = _date(spec.get("published_on"), where)
        existing = Source.objects.filter(
            title=spec["title"],
            publisher=spec.get("publisher", ""),
            published_on=spec["published_on"],
        ).first()
        if existing is not None:
            self.sources[key] = existing
            self.result.skipped.append(f"source {existing}")
            return
        self.sources[key] = services.source_create(actor=self.actor, **spec)
        self.result.created["sources"] += 1

    def _place(self, spec: dict[str, Any]) -> None:
        spec = dict(spec)
        key = spec.pop("key")
        where = f"place {key}"
        existing = Place.objects.filter(name=spec["name"]).first()
        if existing is not None:
            self.places[key] = existing
            self.result.skipped.append(f"place {existing}")
            return
        spec["detaining_party"] = self._party_ref(spec.get("detaining_party"), where)
        spec["source"] = self._source_ref(spec.get("source"), where)
        self.places[key] = place_services.place_create(actor=self.actor, **spec)
        self.result.created["places"] += 1

    # -- persons and cases ---------------------------------------------------------------

    def _remember_person(self, spec: dict[str, Any]) -> None:
        # A person has no natural key of its own: it is created with its first case, and
        # skipped with it when that case is already present.
        self.persons[spec["key"]] = spec

    def _person(self, key: str, where: str):
        try:
            spec = dict(self.persons[key])
        except KeyError:
            raise SeedError(f"{where}: person {key!r} is not listed under 'persons'.") from None
        if "created" in spec:
            return spec["created"]
        spec.pop("key")
        where = f"person {key}"
        names = [NameSpec(**name) for name in spec.pop("names", [])]
        fields = self._resolve(spec, where)
        for name in ("armed_force", "power_depends_on", "serving_under"):
            if name in fields:
                fields[name] = self._party_ref(fields[name], where)
        person = services.person_create(actor=self.actor, names=names, **fields)
        self.persons[key]["created"] = person
        self.result.created["persons"] += 1
        return person

    def _case(self, spec: dict[str, Any]) -> None:
        spec = dict(spec)
        reference = spec.pop("reference")
        where = f"case {reference}"
        if Case.objects.filter(reference=reference).exists():
            self.present_cases.add(reference)
            self.result.skipped.append(f"case {reference} (with its person and story)")
            return
        person = self._person(spec.pop("person"), where)
        fields = self._resolve(spec, where)
        fields["detaining_party"] = self._party_ref(fields.get("detaining_party"), where)
        self.cases[reference] = services.case_open(
            actor=self.actor, reference=reference, person=person, **fields
        )
        self.result.created["cases"] += 1

    # -- the story -----------------------------------------------------------------------

    def _step(self, number: int, step: dict[str, Any]) -> bool:
        """Run one story step; return False when it belongs to a case already present."""
        step = dict(step)
        action = step.pop("action", None)
        reference = step.pop("case", None)
        where = f"story step {number} ({action})"
        if reference in self.present_cases:
            return False
        if reference not in self.cases:
            raise SeedError(f"{where}: case {reference!r} is not listed under 'cases'.")
        handler = getattr(self, f"_step_{action}", None)
        if handler is None:
            raise SeedError(f"{where}: unknown action {action!r}.")
        # Fetch the case afresh: earlier services changed its version and sequence.
        case = Case.objects.get(pk=self.cases[reference].pk)
        handler(case, step, where)
        return True

    def _step_occurrence(self, case: Case, step: dict[str, Any], where: str) -> None:
        services.occurrence_record(actor=self.actor, case=case, **self._resolve(step, where))
        self.result.created["occurrences"] += 1

    def _step_status(self, case: Case, step: dict[str, Any], where: str) -> None:
        services.case_change_status(actor=self.actor, case=case, **self._resolve(step, where))

    def _step_risk(self, case: Case, step: dict[str, Any], where: str) -> None:
        services.risk_assessment_record(actor=self.actor, case=case, **self._resolve(step, where))
        self.result.created["risk_assessments"] += 1

    def _step_note(self, case: Case, step: dict[str, Any], where: str) -> None:
        services.note_add(actor=self.actor, case=case, **self._resolve(step, where))
        self.result.created["notes"] += 1

    def _step_identity_document(self, case: Case, step: dict[str, Any], where: str) -> None:
        identity.identity_document_record(
            actor=self.actor, person=case.person, **self._resolve(step, where)
        )
        self.result.created["identity_documents"] += 1

    def _step_external_identifier(self, case: Case, step: dict[str, Any], where: str) -> None:
        identity.external_identifier_record(
            actor=self.actor, person=case.person, **self._resolve(step, where)
        )
        self.result.created["external_identifiers"] += 1

    def _step_nationality_claim(self, case: Case, step: dict[str, Any], where: str) -> None:
        identity.nationality_claim_record(
            actor=self.actor, person=case.person, **self._resolve(step, where)
        )
        self.result.created["nationality_claims"] += 1

    def _step_intention(self, case: Case, step: dict[str, Any], where: str) -> None:
        key = step.pop("key")
        supersedes = step.pop("supersedes", None)
        fields = self._resolve(step, where)
        if supersedes:
            old = self._keyed(self.intentions, supersedes, "intention", where)
            intention = services.intention_supersede(actor=self.actor, intention=old, **fields)
        else:
            intention = services.intention_record(actor=self.actor, case=case, **fields)
        self.intentions[key] = intention
        self.result.created["intentions"] += 1

    def _step_request(self, case: Case, step: dict[str, Any], where: str) -> None:
        key = step.pop("key")
        fields = self._resolve(step, where)
        self.requests[key] = services.request_file(actor=self.actor, case=case, **fields)
        self.result.created["requests"] += 1

    def _step_request_update(self, case: Case, step: dict[str, Any], where: str) -> None:
        key = step.pop("request")
        request = self._keyed(self.requests, key, "request", where)
        if request.case_id != case.pk:
            raise SeedError(f"{where}: the request belongs to another case.")
        self.requests[key] = services.request_update(
            actor=self.actor, request=request, **self._resolve(step, where)
        )

    def _step_position(self, case: Case, step: dict[str, Any], where: str) -> None:
        request = self._keyed(self.requests, step.pop("request"), "request", where)
        if request.case_id != case.pk:
            raise SeedError(f"{where}: the request belongs to another case.")
        services.position_record(actor=self.actor, request=request, **self._resolve(step, where))
        self.result.created["positions"] += 1

    def _step_movement(self, case: Case, step: dict[str, Any], where: str) -> None:
        fields = self._resolve(step, where)
        for name in ("from_place", "to_place"):
            if name in fields:
                fields[name] = self._keyed(self.places, fields[name], "place", where)
        place_services.movement_record(actor=self.actor, case=case, **fields)
        self.result.created["movements"] += 1
