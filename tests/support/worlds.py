"""Seeded worlds: the public case of Ri and Baek, and a world full of canaries.

The canary world, its roles and their clients are shared by the route walk and the canary
crawl. ``world()`` writes every row through the services (and one note
through the admin's case form, as a case officer adds it), so the timeline holds every value
too. Every sensitive value (``cases.security.sensitive``) is a canary: a string with a random token
that appears nowhere else, so a leak is found wherever and however it is copied.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.test import Client

from cases import choices
from cases import services as svc
from cases.identity import services as identity
from cases.identity.models import IdentityDocument
from cases.models import Interview, Note, Person, StatedIntention
from cases.security import sensitive
from cases.security.tokens import ApiToken
from cases.services import Actor, NameSpec
from cases.visits import services as visit_services
from tests import factories as f
from tests.support import roles

#: Every role the walk and the crawl act as, in a fixed order: the role table's three (the
#: integration read-only and read-write), and the accounts outside it.
ROLES = (
    "anonymous",
    "no_role",
    "analyst",
    "integration_ro",
    "integration_rw",
    "case_officer",
    "superuser",
)
#: Roles holding ``cases.view_sensitive``.
SENSITIVE_ROLES = frozenset({"case_officer", "superuser"})
#: Roles that sign in with an API token: the token is their only credential.
TOKEN_ROLES = frozenset({"integration_ro", "integration_rw"})

#: Marks every canary; the token after it is what the crawl searches for.
CANARY_PREFIX = "CANARY"
_TOKEN = re.compile(r"[0-9a-f]{12}")


@dataclass
class Canaries:
    """Every canary planted in the world: ``label -> value``, label naming where it went."""

    values: dict[str, str] = field(default_factory=dict)

    def new(self, label: str) -> str:
        """Return a fresh canary for ``label`` and remember it."""
        value = f"{CANARY_PREFIX}-{label}-{secrets.token_hex(6)}"
        self.values[label] = value
        return value

    def token(self, label: str) -> str:
        """Return the random part of a canary: what a crawl searches for."""
        return self.values[label].rsplit("-", 1)[1]

    def found_in(self, text: str) -> set[str]:
        """Return the labels of the canaries whose token appears in ``text`` (any case)."""
        lowered = text.lower()
        return {label for label, value in self.values.items() if self.token(label) in lowered}


def role_user(role: str):
    """Return a user for ``role``; the analyst and the case officer are staff, as in the docs.

    docs/security.md describes role users as staff accounts holding the role's group, so the
    same accounts open the admin; "no role" is a signed-in account without any group.
    """
    if role == "superuser":
        return roles.superuser("walk-root")
    if role == "no_role":
        return roles.user_in_role(None, "walk-norole")
    if role == "analyst":
        return roles.user_in_role(roles.ANALYST, "walk-analyst", is_staff=True)
    if role == "case_officer":
        return roles.user_in_role(roles.CASE_OFFICER, "walk-officer", is_staff=True)
    if role == "integration_ro":
        return roles.user_in_role(roles.INTEGRATION, "walk-integration-ro")
    if role == "integration_rw":
        return roles.read_write_integration("walk-integration-rw")
    raise ValueError(role)


@dataclass
class RoleClient:
    """A role's user and the way to build a client acting as it."""

    role: str
    user: Any = None
    token_key: str = ""

    def client(self) -> Client:
        """Return a fresh client: signed in (session) or sending the token."""
        # A server error comes back as a 500 answer, not an exception, so a walk can name it.
        if self.role == "anonymous":
            return Client(raise_request_exception=False)
        if self.role in TOKEN_ROLES:
            return Client(
                raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {self.token_key}"
            )
        client = Client(raise_request_exception=False)
        client.force_login(self.user)
        return client


def role_clients() -> dict[str, RoleClient]:
    """Return a :class:`RoleClient` for every role in :data:`ROLES`."""
    out: dict[str, RoleClient] = {"anonymous": RoleClient("anonymous")}
    for role in ROLES[1:]:
        user = role_user(role)
        key = ""
        if role in TOKEN_ROLES:
            _token, key = ApiToken.issue(
                user=user, name=f"walk-{role}", read_only=role == "integration_ro"
            )
        out[role] = RoleClient(role, user, key)
    return out


def _names(canaries: Canaries, who: str) -> list[NameSpec]:
    return [
        NameSpec(canaries.new(f"{who}-name-hangul"), "latin", "revised"),
        NameSpec(canaries.new(f"{who}-name-latin"), "latin", "conventional"),
        NameSpec(canaries.new(f"{who}-name-cyrillic"), "latin", "mccune_reischauer"),
        # A pseudonym is not sensitive: shown to everyone, so it holds no canary.
        NameSpec(f"Soldier {who.upper()}", "latin", "", True),
    ]


def _person_fields(canaries: Canaries, who: str, round_: str) -> dict[str, str]:
    return {
        name: canaries.new(f"{who}-{name}-{round_}")
        for name in sensitive.PERSON_FIELDS
        # birth_place and service_number are short CharFields: the canary fits.
    }


def build_world(officer_client: Client | None = None) -> dict[str, Any]:
    """Write two cases full of canaries through the services; return the objects and canaries.

    Every sensitive field of every model in ``cases.security.sensitive.SENSITIVE_FIELDS`` gets a
    canary, each person is updated once (so the timeline holds old and new values), each
    intention has a quote, each case has notes whose first line is a canary. With
    ``officer_client`` (a case officer signed in to the admin), one more note is added
    through the admin's case form, as an officer adds it.
    """
    canaries = Canaries()
    actor = Actor.system("walk")
    ukraine = f.party("Walk Ukraine", country="UA")
    korea = f.party("Walk Korea", country="KR")
    icrc = f.party("Walk ICRC", kind="international_organisation", country="CH", is_neutral=True)
    source = f.source("Walk report", publisher="Walk Daily")
    cases = []
    intentions = []
    requests = []
    notes = []
    visits = []
    for who in ("ri", "baek"):
        person = svc.person_create(
            actor=actor,
            working_name=f"Work{who.capitalize()}",
            names=_names(canaries, who),
            nationalities=["KP"],
            **_person_fields(canaries, who, "first"),
        )
        case = f.case(
            reference="UA-2025-0901" if who == "ri" else "UA-2025-0902",
            person_obj=person,
            detaining_party=ukraine,
            legal_status="pow",
        )
        person = svc.person_update(
            actor=actor,
            person=person,
            names=_names(canaries, f"{who}2"),
            **_person_fields(canaries, who, "second"),
        )
        first = f.intention(
            case,
            quote=canaries.new(f"{who}-quote-first"),
            heard_by=korea,
            source=source,
        )
        # "verified" needs a private interview by a neutral body: the ICRC's, during its
        # visit that day; what was raised there and the notes on it are sensitive too.
        seen = visit_services.visit_record(
            actor=actor,
            visiting_body=icrc,
            visited_on=dt.date(2025, 3, 1),
            detaining_party=ukraine,
            place_text="Walk camp",
            topics=canaries.new(f"{who}-visit-topics"),
            notes=canaries.new(f"{who}-visit-notes"),
            interviews=[
                {
                    "case": case,
                    "in_private": True,
                    "topics": canaries.new(f"{who}-interview-topics"),
                    "notes": canaries.new(f"{who}-interview-notes"),
                }
            ],
        )
        visits.append(seen)
        second = svc.intention_supersede(
            actor=actor,
            intention=first,
            option="third_state",
            destination_country="KR",
            stated_on=dt.date(2025, 3, 1),
            setting="private_neutral_interview",
            verification="verified",
            heard_by=icrc,
            detaining_power_present="no",
            options_explained=True,
            interview=seen.interviews.get(),
            quote=canaries.new(f"{who}-quote-second"),
            conditions=canaries.new(f"{who}-conditions"),
        )
        # Signs of duress keep a statement below 'verified': recorded on a stated one.
        svc.intention_record(
            actor=actor,
            case=case,
            option="undecided",
            stated_on=dt.date(2025, 2, 1),
            setting="official_interview",
            verification="stated",
            duress_signs=canaries.new(f"{who}-duress"),
        )
        svc.risk_assessment_record(
            actor=actor,
            case=case,
            level="high",
            basis=canaries.new(f"{who}-risk-basis"),
            assessor="Walk officer",
            assessed_on=dt.date(2025, 3, 2),
        )
        # What he carried (sensitive: the number, the name on it, notes), the numbers other
        # systems know him by and who claims him as a national.
        identity.identity_document_record(
            actor=actor,
            person=case.person,
            kind="military_id",
            issuer_country="RU",
            number=canaries.new(f"{who}-document-number"),
            name_on_document=canaries.new(f"{who}-document-name"),
            genuineness="not_his_own",
            notes=canaries.new(f"{who}-document-notes"),
        )
        identity.external_identifier_record(
            actor=actor, person=case.person, scheme="icrc", value=f"WALK-ICRC-{who}"
        )
        identity.nationality_claim_record(
            actor=actor, person=case.person, country="KR", claimed_by=korea, basis="Constitution"
        )
        request = f.request(case, kind="third_state_transfer", addressed_to=korea)
        svc.position_record(
            actor=actor,
            request=request,
            party=korea,
            stance=choices.Stance.ACCEPTS,
            stated_on=dt.date(2025, 3, 4),
        )
        svc.occurrence_record(
            actor=actor,
            case=case,
            kind=choices.OccurrenceKind.CAPTURE,
            occurred_on=dt.date(2025, 1, 9),
            description="Captured in the field.",
        )
        for n in (1, 2):
            body = (
                f"{canaries.new(f'{who}-note{n}-line1')}\n"
                f"second line {canaries.new(f'{who}-note{n}-line2')}"
            )
            notes.append(svc.note_add(actor=actor, case=case, body=body))
        cases.append(case)
        intentions += [first, second]
        requests.append(request)
    # A third case whose person changes details but keeps the same name variants: its page
    # renders even where a change of name variants on the timeline breaks the case page.
    kim = svc.person_create(
        actor=actor,
        working_name="WorkKim",
        names=_names(canaries, "kim"),
        **_person_fields(canaries, "kim", "first"),
    )
    kim_case = f.case(
        reference="UA-2025-0903", person_obj=kim, detaining_party=ukraine, legal_status="pow"
    )
    svc.person_update(actor=actor, person=kim, **_person_fields(canaries, "kim", "second"))
    f.intention(kim_case, quote=canaries.new("kim-quote-first"), heard_by=korea)
    notes.append(svc.note_add(actor=actor, case=kim_case, body=canaries.new("kim-note1-line1")))
    cases.append(kim_case)
    if officer_client is not None:
        notes.append(_note_through_the_admin(officer_client, cases[0], canaries))
    return {
        "canaries": canaries,
        "cases": cases,
        "persons": list(Person.objects.filter(cases__in=cases).distinct()),
        "intentions": list(StatedIntention.objects.filter(case__in=cases)),
        "requests": requests,
        "notes": list(Note.objects.filter(case__in=cases)),
        "documents": list(IdentityDocument.objects.filter(person__cases__in=cases)),
        "visits": visits,
        "interviews": list(Interview.objects.filter(visit__in=visits)),
        "parties": [ukraine, korea, icrc],
        "source": source,
    }


def _note_through_the_admin(client: Client, case, canaries: Canaries):
    """Add a note on the admin's case page, as a case officer does (the admin logs it too)."""
    from tests.support.admin import change_url, errors_text, form_data, new_row

    response = client.get(change_url(case))
    assert response.status_code == 200, response.status_code
    data = form_data(response)
    body = f"{canaries.new('admin-note-line1')}\nthen {canaries.new('admin-note-line2')}"
    new_row(response, Note, data, body=body)
    response = client.post(change_url(case), data)
    assert response.status_code == 302, errors_text(response)
    return Note.objects.filter(case=case).latest("id")


def sensitive_values_of(world: dict[str, Any]) -> set[str]:
    """Return every sensitive value in the world, read through ``cases.security.sensitive``."""
    out: set[str] = set()
    for obj in (
        *world["persons"],
        *world["intentions"],
        *world["notes"],
        *world.get("documents", ()),
        *world.get("visits", ()),
        *world.get("interviews", ()),
    ):
        for value in sensitive.sensitive_values(obj).values():
            out.update(value if isinstance(value, list) else [value])
    return out


def ri_and_baek():
    """Open the two public cases, with the name variants the press uses."""
    ukraine = f.party("Ukraine", country="UA")
    ri = f.person(
        "Ri",
        names=[
            NameSpec("리", "hangul"),
            NameSpec("Ri", "latin", "north_korean"),
            NameSpec("Lee", "latin", "conventional"),
            NameSpec("Yi", "latin", "mccune_reischauer"),
        ],
        nationalities=["KP"],
    )
    baek = f.person(
        "Baek",
        names=[
            NameSpec("백", "hangul"),
            NameSpec("Baek", "latin", "revised"),
            NameSpec("Paek", "latin", "mccune_reischauer"),
        ],
        nationalities=["KP"],
    )
    ri_case = f.case(
        reference="UA-2025-0001",
        person_obj=ri,
        detaining_party=ukraine,
        capture_date=dt.date(2025, 1, 9),
        legal_status="pow",
    )
    baek_case = f.case(
        reference="UA-2025-0002",
        person_obj=baek,
        detaining_party=ukraine,
        capture_date=dt.date(2025, 1, 10),
        legal_status="presumed_pow",
    )
    return ri_case, baek_case


def build_public_case():
    """Build the public case of Ri and Baek (held by Ukraine) and a Russian-held case.

    Ri says he wants to go to South Korea (stated to a lawmaker, not verified) and has a
    filed transfer request that South Korea accepts; Baek is undecided.
    """
    ukraine = f.party("Ukraine", country="UA")
    russia = f.party("Russian Federation", country="RU")
    korea = f.party("Republic of Korea", country="KR")
    report = f.source(
        "North Korean POWs want to go to South Korea",
        publisher="Yonhap",
        published_on=dt.date(2025, 3, 1),
        url="https://example.org/report",
    )
    ri = f.person(
        "Ri",
        names=[
            NameSpec("리", "hangul"),
            NameSpec("Lee", "latin", "conventional"),
            NameSpec("Ri", "latin", "north_korean"),
        ],
        nationalities=["KP"],
    )
    baek = f.person(
        "Baek",
        names=[NameSpec("백", "hangul"), NameSpec("Paek", "latin", "mccune_reischauer")],
        nationalities=["KP"],
    )
    ivanov = f.person("Ivanov", names=[NameSpec("Іванов", "cyrillic")], nationalities=["UA", "RU"])
    ri_case = f.case(
        reference="UA-2025-0001",
        person_obj=ri,
        detaining_party=ukraine,
        capture_place="Kursk region",
        capture_place_code="RU-KRS",
    )
    baek_case = f.case(reference="UA-2025-0002", person_obj=baek, detaining_party=ukraine)
    ru_case = f.case(
        reference="RU-2024-0007",
        person_obj=ivanov,
        detaining_party=russia,
        capture_date=dt.date(2024, 5, 2),
    )
    hearsay = f.intention(
        ri_case, verification="reported", setting="hearsay", stated_on=dt.date(2025, 2, 1)
    )
    ri_wish = svc.intention_supersede(
        actor=f.SYSTEM,
        intention=hearsay,
        option="third_state",
        destination_country="KR",
        stated_on=dt.date(2025, 2, 25),
        setting="legislator_interview",
        verification="stated",
        heard_by=korea,
        heard_by_role="lawmaker",
        quote="I want to go to South Korea",
        conditions="if jaw surgery is possible",
        source=report,
    )
    f.intention(baek_case, option="undecided", destination_country="")
    transfer = f.request(
        ri_case, kind="third_state_transfer", addressed_to=ukraine, intention=ri_wish
    )
    svc.position_record(
        actor=f.SYSTEM,
        request=transfer,
        party=korea,
        stance="accepts",
        stated_on=dt.date(2025, 3, 1),
        conditions="if they choose",
        source=report,
    )
    return SimpleNamespace(
        ukraine=ukraine,
        russia=russia,
        korea=korea,
        ri=ri_case,
        baek=baek_case,
        ru=ru_case,
        hearsay=hearsay,
        ri_wish=ri_wish,
        transfer=transfer,
    )
