"""Find the persons a new or renamed person is likely to duplicate, with a score and reasons.

How a check runs (``find_duplicates``):

1. **Blocking.** Candidate persons come only from indexed lookups, never from a scan:
   name variants whose ``search_key`` equals one of the candidate's spellings (the name
   search's expansion across scripts and romanisations: Ri / Lee / 리 / Ли, Paek / Baek /
   백), working names equal to one of those spellings (an index on ``lower(working_name)``),
   the same birth day (when both are known to the day), the same service number, and the
   same identity document number. Archived persons and merged tombstones are left out.
2. **Scoring.** Each candidate is scored by the reasons of ``REASONS`` (a small registry:
   add one with :func:`reason`). The name reason compares spellings with rapidfuzz on top
   of the name keys, so a near spelling (Paek Yong Won / Paek Yongwan) scores too.
3. **Need to know.** A reason that rests on a sensitive value (service number, document
   number) runs only for a reader who may see sensitive values; name reasons compare only
   the name variants the reader may see (the working name and pseudonyms otherwise). So
   neither the reasons nor the score tell a reader what he may not read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import connections, router
from django.db.models import Prefetch
from django.utils.translation import gettext
from rapidfuzz import fuzz, process

from cases.choices import DatePrecision
from cases.models import Person, PersonName
from cases.names import name_words, normalise_name, search_variants, surname_spellings
from cases.security import sensitive
from cases.security.policy import policy_for

#: A candidate scoring at least this is offered as a likely duplicate.
THRESHOLD = 0.5
#: At most this many likely duplicates are offered, best first.
MAX_RESULTS = 10
#: At most this many persons are read from one blocking lookup.
BLOCK_LIMIT = 200
#: A near spelling (not one of the name's known spellings) counts from this rapidfuzz ratio.
NAME_SIMILARITY_CUTOFF = 85.0
#: Near spellings are compared only between keys this long: "ri" and "rim" are 80% alike.
MIN_FUZZY_LENGTH = 5


@dataclass
class Candidate:
    """The person to check: as typed on a form, sent to the API, or read from an import row."""

    working_name: str
    names: list[str] = field(default_factory=list)
    birth_date: dt.date | None = None
    birth_date_precision: str = DatePrecision.DAY
    unit: str = ""
    service_number: str = ""
    document_numbers: list[str] = field(default_factory=list)
    #: The person being edited, left out of its own duplicates.
    exclude_pk: int | None = None

    @classmethod
    def of_person(cls, person: Person, **overrides: Any) -> Candidate:
        """Return the candidate a stored person is (``overrides`` replace its values)."""
        values = {
            "working_name": person.working_name,
            "names": [n.value for n in person.names.all()] if person.pk else [],
            "birth_date": person.birth_date,
            "birth_date_precision": person.birth_date_precision,
            "unit": person.unit,
            "service_number": person.service_number,
            "exclude_pk": person.pk,
        }
        values.update(overrides)
        return cls(**values)

    def spellings(self) -> list[str]:
        """Return the names as written, working name first, without blanks or repeats."""
        seen: dict[str, None] = {}
        for value in (self.working_name, *self.names):
            if value and value.strip():
                seen.setdefault(value.strip(), None)
        return list(seen)


@dataclass(frozen=True)
class Reason:
    """Why a candidate looks like a person: a code, its weight in the score and a sentence."""

    code: str
    weight: float
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """Return the reason as the API shows it."""
        return {"code": self.code, "weight": round(self.weight, 2), "detail": self.detail}


@dataclass
class Match:
    """A likely duplicate: the stored person, the score (0 to 1) and the reasons."""

    person: Person
    score: float
    reasons: list[Reason]


@dataclass
class Context:
    """What a reason compares against: the candidate's spellings and the reader's view."""

    candidate: Candidate
    sees_sensitive: bool
    #: Each spelling of the candidate's names (normalised) and the name it came from.
    keys: dict[str, str]

    def visible_names(self, person: Person) -> list[str]:
        """Return the names of ``person`` that the reader may see, working name first; his
        Art. 17 name (family then given names) too for a reader of sensitive values."""
        names = [person.working_name]
        for row in person.names.all():
            if self.sees_sensitive or not sensitive.is_hidden_name(row):
                names.append(row.value)
        if self.sees_sensitive and person.family_name:
            names.append(f"{person.family_name} {person.given_names}".strip())
        return names


@dataclass(frozen=True)
class ReasonChecker:
    """One registered reason: its code, whether it reads a sensitive value, and its check."""

    code: str
    check: Callable[[Context, Person], Reason | None]
    sensitive: bool = False


#: The reasons a candidate is scored by, in the order they are listed.
REASONS: list[ReasonChecker] = []


def reason(code: str, *, sensitive: bool = False):
    """Register a reason check; ``sensitive`` ones run only for readers of sensitive values."""

    def register(check: Callable[[Context, Person], Reason | None]):
        REASONS[:] = [r for r in REASONS if r.code != code]
        REASONS.append(ReasonChecker(code=code, check=check, sensitive=sensitive))
        return check

    return register


# --------------------------------------------------------------------------------------------
# Reasons
# --------------------------------------------------------------------------------------------


@reason("name")
def same_name(ctx: Context, person: Person) -> Reason | None:
    """Score the closest pair of spellings: a known spelling is 0.6, a near one up to 0.55."""
    best: tuple[float, str, str] | None = None
    choices = list(ctx.keys)
    for written in ctx.visible_names(person):
        key = normalise_name(written)
        if not key:
            continue
        if key in ctx.keys:
            return Reason(
                "name",
                0.6,
                gettext("Same name in another spelling or script: %(mine)s ~ %(theirs)s")
                % {"mine": ctx.keys[key], "theirs": written},
            )
        if len(key) < MIN_FUZZY_LENGTH:
            continue
        found = process.extractOne(
            key,
            [c for c in choices if len(c) >= MIN_FUZZY_LENGTH],
            scorer=fuzz.ratio,
            score_cutoff=NAME_SIMILARITY_CUTOFF,
        )
        if found and (best is None or found[1] > best[0]):
            best = (found[1], ctx.keys[found[0]], written)
    if best is None:
        return None
    ratio, mine, theirs = best
    return Reason(
        "name",
        0.55 * ratio / 100,
        gettext("Similar name: %(mine)s ~ %(theirs)s (%(ratio)s%%)")
        % {"mine": mine, "theirs": theirs, "ratio": f"{ratio:.0f}"},
    )


_PRECISION_RANK = {
    DatePrecision.EXACT: 0,
    DatePrecision.DAY: 0,
    DatePrecision.MONTH: 1,
    DatePrecision.YEAR: 2,
    DatePrecision.APPROXIMATE: 3,
}


@reason("birth_date")
def same_birth_date(ctx: Context, person: Person) -> Reason | None:
    """Compare birth dates to the coarser of the two precisions; a different known day counts
    against."""
    mine, theirs = ctx.candidate.birth_date, person.birth_date
    if mine is None or theirs is None:
        return None
    rank = max(
        _PRECISION_RANK.get(ctx.candidate.birth_date_precision, 3),
        _PRECISION_RANK.get(person.birth_date_precision, 3),
    )
    if rank == 0:
        if mine == theirs:
            return Reason(
                "birth_date",
                0.25,
                gettext("Same birth date: %(date)s") % {"date": theirs.isoformat()},
            )
        return Reason(
            "birth_date_differs",
            -0.3,
            gettext("Different birth dates: %(mine)s and %(theirs)s")
            % {"mine": mine.isoformat(), "theirs": theirs.isoformat()},
        )
    if rank == 1:
        if (mine.year, mine.month) == (theirs.year, theirs.month):
            return Reason(
                "birth_date",
                0.15,
                gettext("Same birth month: %(month)s") % {"month": f"{theirs:%Y-%m}"},
            )
        return None
    if rank == 2:
        if mine.year == theirs.year:
            return Reason(
                "birth_date", 0.1, gettext("Same birth year: %(year)s") % {"year": theirs.year}
            )
        return None
    if abs(mine.year - theirs.year) <= 1:
        return Reason(
            "birth_date",
            0.05,
            gettext("About the same birth year: %(mine)s ~ %(theirs)s")
            % {"mine": mine.year, "theirs": theirs.year},
        )
    return None


@reason("unit")
def same_unit(ctx: Context, person: Person) -> Reason | None:
    """Compare units: the same (as normalised) is 0.1, a near spelling 0.05."""
    mine, theirs = normalise_name(ctx.candidate.unit), normalise_name(person.unit)
    if not mine or not theirs:
        return None
    if mine == theirs:
        return Reason("unit", 0.1, gettext("Same unit: %(unit)s") % {"unit": person.unit})
    ratio = fuzz.token_set_ratio(ctx.candidate.unit.lower(), person.unit.lower())
    if ratio >= 90:
        return Reason(
            "unit",
            0.05,
            gettext("Similar unit: %(unit)s (%(ratio)s%%)")
            % {"unit": person.unit, "ratio": f"{ratio:.0f}"},
        )
    return None


def normalise_number(value: str) -> str:
    """Return a service or document number without spaces, dashes or case."""
    return re.sub(r"[\W_]+", "", value or "").upper()


@reason("service_number", sensitive=True)
def same_service_number(ctx: Context, person: Person) -> Reason | None:
    """The same service number is 0.5 (a sensitive value: only for readers who may see it)."""
    mine = normalise_number(ctx.candidate.service_number)
    if mine and mine == normalise_number(person.service_number):
        return Reason("service_number", 0.5, gettext("Same service number"))
    return None


def identity_document_model():
    """Return the ``IdentityDocument`` model (``person`` and ``number``), or None without it."""
    try:
        return apps.get_model("cases", "IdentityDocument")
    except LookupError:
        return None


@reason("identity_document", sensitive=True)
def same_identity_document(ctx: Context, person: Person) -> Reason | None:
    """The same identity document number is 0.5: the place where document numbers count.

    It reads ``IdentityDocument`` rows once that model exists; until then it finds nothing.
    """
    numbers = {normalise_number(n) for n in ctx.candidate.document_numbers} - {""}
    documents = getattr(person, "duplicate_documents", None)
    if not numbers or documents is None:
        return None
    if numbers & {normalise_number(number) for number in documents}:
        return Reason("identity_document", 0.5, gettext("Same identity document number"))
    return None


# --------------------------------------------------------------------------------------------
# Blocking
# --------------------------------------------------------------------------------------------


def spelling_keys(spellings: Iterable[str]) -> dict[str, str]:
    """Return each normalised spelling of ``spellings`` mapped to the name it came from."""
    keys: dict[str, str] = {}
    for written in spellings:
        for key in sorted(search_variants(written)):
            keys.setdefault(key, written)
    return keys


def working_name_forms(spellings: Iterable[str], keys: Iterable[str]) -> set[str]:
    """Return lower-cased working names that would be one of ``spellings``.

    A working name is stored as written ("Ri Hyon Chol"), so besides the normalised keys
    (which match one-word names) the words are joined by spaces, with a Korean surname at
    either end in each of its spellings.
    """
    forms = set(keys)
    for written in spellings:
        words = name_words(written)
        if not words:
            continue
        forms.add(" ".join(words))
        for index in {0, len(words) - 1}:
            for spelling in surname_spellings(words[index]):
                forms.add(" ".join([*words[:index], spelling, *words[index + 1 :]]))
    return {form for form in forms if form}


class _Union:
    """The blocking lookups as one SQL statement: each a ``SELECT`` of person ids limited to
    ``BLOCK_LIMIT`` rows, joined by ``UNION`` (which also removes repeats), so a check costs
    one round trip to the database however many lookups apply."""

    def __init__(self, connection):
        self.connection = connection
        self.parts: list[str] = []
        self.params: list[Any] = []

    def table(self, model) -> str:
        return self.connection.ops.quote_name(model._meta.db_table)

    def add(self, column: str, model, where: str, params: Iterable[Any]) -> None:
        """Add ``SELECT column FROM model's table WHERE where LIMIT BLOCK_LIMIT``."""
        alias = f"b{len(self.parts)}"
        self.parts.append(
            f"SELECT {alias}.id FROM (SELECT {column} AS id FROM {self.table(model)} "
            f"WHERE {where} LIMIT {BLOCK_LIMIT}) {alias}"
        )
        self.params.extend(params)

    def ids(self) -> set[int]:
        if not self.parts:
            return set()
        with self.connection.cursor() as cursor:
            cursor.execute(" UNION ".join(self.parts), self.params)
            return {row[0] for row in cursor.fetchall()}


def _marks(values: Iterable[Any]) -> str:
    return ", ".join("%s" for _ in values)


def _blocks(candidate: Candidate, keys: dict[str, str], sees_sensitive: bool) -> set[int]:
    """Return the ids of the persons that the indexed lookups find for ``candidate``.

    Each name key is a range of one value (``>= k AND <= k``): PostgreSQL serves ``=`` and
    ``IN`` on ``search_key`` from its trigram index too, and picks it although it is far
    slower for equality; a range only the B-tree index can serve (a ``BitmapOr`` of index
    reads). No lookup is ordered: with an order, the planner may walk another index to
    honour it (and the limit).
    """
    connection = connections[router.db_for_read(Person)]
    union = _Union(connection)
    if keys:
        ranges = " OR ".join("(search_key >= %s AND search_key <= %s)" for _ in keys)
        params: list[Any] = [k for key in sorted(keys) for k in (key, key)]
        if not sees_sensitive:
            ranges, params = f"({ranges}) AND is_pseudonym = %s", [*params, True]
        union.add("person_id", PersonName, ranges, params)
        forms = sorted(working_name_forms(candidate.spellings(), keys))
        union.add("id", Person, f"LOWER(working_name) IN ({_marks(forms)})", forms)
        if sees_sensitive:
            # The Art. 17 name (family and given names), sensitive: indexed as written here
            # (migration 0030).
            art17 = "lower(family_name || ' ' || given_names)"
            where = f"family_name <> '' AND {art17} IN ({_marks(forms)})"
            union.add("id", Person, where, forms)
    if candidate.birth_date and candidate.birth_date_precision in (
        DatePrecision.DAY,
        DatePrecision.EXACT,
    ):
        day = connection.ops.adapt_datefield_value(candidate.birth_date)
        union.add("id", Person, "birth_date = %s", [day])
    if sees_sensitive:
        number = candidate.service_number.strip()
        if number:
            numbers = sorted({number, number.upper()})
            union.add("id", Person, f"service_number IN ({_marks(numbers)})", numbers)
        documents = identity_document_model()
        numbers = [n.strip() for n in candidate.document_numbers if n.strip()]
        if documents is not None and numbers:
            union.add("person_id", documents, f"number IN ({_marks(numbers)})", numbers)
    found = union.ids()
    found.discard(candidate.exclude_pk)
    return found


#: The person fields the reasons and the callers read; the rest is not loaded.
CANDIDATE_FIELDS = (
    "uuid",
    "working_name",
    "birth_date",
    "birth_date_precision",
    "unit",
    "service_number",
    "family_name",
    "given_names",
    "version",
)


def _candidates(ids: set[int], sees_sensitive: bool, documents: bool) -> list[Person]:
    """Return the persons ``ids`` that may be duplicates, with their names (and documents)."""
    names = Prefetch(
        "names", queryset=PersonName.objects.only("person_id", "value", "is_pseudonym")
    )
    persons = list(
        Person.objects.filter(pk__in=ids, archived_at__isnull=True, merged_into__isnull=True)
        .only(*CANDIDATE_FIELDS)
        .prefetch_related(names)
        .order_by("pk")
    )
    model = identity_document_model() if sees_sensitive and documents else None
    if model is not None and persons:
        numbers: dict[int, list[str]] = {}
        for person_id, number in model.objects.filter(person__in=persons).values_list(
            "person_id", "number"
        ):
            numbers.setdefault(person_id, []).append(number)
        for person in persons:
            person.duplicate_documents = numbers.get(person.pk, [])
    return persons


# --------------------------------------------------------------------------------------------
# The check
# --------------------------------------------------------------------------------------------


def find_duplicates(candidate: Candidate, *, user=None) -> list[Match]:
    """Return the likely duplicates of ``candidate`` that ``user`` may be told of, best first.

    ``user`` None is the tracker itself (a command, an import run as the system): it sees
    every value. Nothing is written.
    """
    sees_sensitive = user is None or policy_for(user).sees_sensitive
    keys = spelling_keys(candidate.spellings())
    ids = _blocks(candidate, keys, sees_sensitive)
    if not ids:
        return []
    ctx = Context(candidate=candidate, sees_sensitive=sees_sensitive, keys=keys)
    checkers = [r for r in REASONS if sees_sensitive or not r.sensitive]
    matches = []
    for person in _candidates(ids, sees_sensitive, bool(candidate.document_numbers)):
        reasons = [found for r in checkers if (found := r.check(ctx, person)) is not None]
        score = max(0.0, min(1.0, sum(r.weight for r in reasons)))
        if score >= THRESHOLD and any(r.weight > 0 for r in reasons):
            matches.append(Match(person=person, score=round(score, 2), reasons=reasons))
    matches.sort(key=lambda m: (-m.score, m.person.working_name, m.person.pk))
    return matches[:MAX_RESULTS]


def duplicates_of(person: Person, *, user=None) -> list[Match]:
    """Return the likely duplicates of a stored person, as ``user`` may be told of them."""
    return find_duplicates(Candidate.of_person(person), user=user)
