"""The world (parties and sources) and one case's story, told through the services."""

from __future__ import annotations

import bisect
import datetime as dt
import random
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cases import choices, consent, services
from cases.choices import (
    CaseStatus,
    DatePrecision,
    IntentionOption,
    IntentionState,
    OccurrenceKind,
    PartyKind,
    RequestKind,
    RequestStatus,
    Stance,
    StatementSetting,
    Verification,
)
from cases.demo.tables import (
    ACTOR,
    AS_OF,
    CALL_SIGNS,
    DETENTION,
    HOSPITALS,
    KO_GIVEN,
    KO_SURNAMES,
    LAST_CAPTURE,
    NK_WINDOW,
    PARTIES,
    PLACES,
    PUBLISHERS,
    REFERENCE_DATA_AT,
    REGIONS,
    RU_GIVEN,
    RU_SURNAMES,
    SOURCE_POOL_SIZE,
    SOURCE_TITLES,
    TUVAN_GIVEN,
    TUVAN_SURNAMES,
    UK_GIVEN,
    UK_GIVEN_FEMALE,
    UK_SURNAMES,
    WAR_START,
    Place,
    dedupe_names,
    translit_ru_bgn,
    translit_ru_press,
    translit_uk_bgn,
    translit_uk_national,
)
from cases.exchanges.services import handover_record
from cases.identity import services as identity_services
from cases.identity.models import DocumentGenuineness, DocumentKind, IdentifierScheme
from cases.models import Case, Party, Person, Request, Source, StatedIntention
from cases.places import services as place_services
from cases.places.models import CardHealth, MovementKind
from cases.places.models import Place as DetentionPlace
from cases.services import NameSpec
from cases.timeline.sinks import BulkSink
from cases.visits import services as visit_services
from cases.visits.models import Interview

# --------------------------------------------------------------------------------------------
# Calls through the services, into the bulk sink
# --------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One service call as the generator made it: which service, when, with what."""

    service: str
    at: dt.datetime
    kwargs: dict[str, Any]
    result: Any = None


class ServiceCalls:
    """Make the story's calls through the services, as ``ACTOR``, into one bulk sink.

    ``calls.call(services.case_open, at=..., **kwargs)`` runs the service with "now" set to
    ``at``; with ``record`` every call is kept, so a test can replay them through the row
    sink and compare.
    """

    def __init__(self, sink: BulkSink, *, record: bool = False):
        self.sink = sink
        self.calls: list[Call] | None = [] if record else None

    @property
    def rng(self) -> random.Random:
        """Return the generator the sink draws UUIDs from."""
        return self.sink.rng

    @rng.setter
    def rng(self, rng: random.Random) -> None:
        self.sink.rng = rng

    def call(self, service: Callable[..., Any], *, at: dt.datetime, **kwargs: Any) -> Any:
        """Return ``service(**kwargs)`` made as ``ACTOR`` into the bulk sink, "now" being ``at``."""
        self.sink.at = at
        result = service(actor=ACTOR, sink=self.sink, **kwargs)
        if self.calls is not None:
            self.calls.append(Call(service.__name__, at, kwargs, result))
        return result

    def current_intention(self, case: Case) -> StatedIntention | None:
        """Return the case's current intention as the services would see it."""
        return self.sink.current_intention(case)

    def gate(self, case: Case, move: consent.Move | None, *, on: dt.date) -> consent.Decision:
        """Return the consent gate's answer for ``move`` on ``on``."""
        return self.sink.gate(case, move, on=on)

    def flush(self) -> int:
        """Insert what the calls queued; return the number of events."""
        return self.sink.flush()


# --------------------------------------------------------------------------------------------
# The world's reference data, loaded or created once per run
# --------------------------------------------------------------------------------------------


@dataclass
class World:
    """Parties by key and the source pool, by category, in date order."""

    parties: dict[str, Party]
    sources: dict[str, list[Source]] = field(default_factory=dict)
    source_dates: dict[str, list[dt.date]] = field(default_factory=dict)
    #: Places of detention by name (``DETENTION`` and ``HOSPITALS``).
    places: dict[str, DetentionPlace] = field(default_factory=dict)

    def source_near(self, rng: random.Random, category: str, day: dt.date) -> Source | None:
        """Return a source of ``category`` published on or soon after ``day``, if any."""
        pool = self.sources.get(category)
        if not pool:
            return None
        start = bisect.bisect_left(self.source_dates[category], day)
        if start >= len(pool):
            return None
        return pool[rng.randrange(start, min(start + 3, len(pool)))]


#: Parties whose private interviews can verify a statement.
_NEUTRAL_PARTIES = frozenset({"icrc"})


def build_world(writer: ServiceCalls, seed: int) -> World:
    """Return the parties and sources, creating (through ``writer``) those that are missing."""
    rng = random.Random(f"seed_demo:{seed}:reference")
    # UUIDs come from a stream of their own, so reusing existing rows (an appending run)
    # does not shift what the content stream draws next.
    writer.rng = random.Random(f"seed_demo:{seed}:reference-ids")
    existing = {party.name: party for party in Party.objects.all()}
    parties: dict[str, Party] = {}
    for key, name, short_name, kind, country, parent_key in PARTIES:
        if name in existing:
            parties[key] = existing[name]
            continue
        parties[key] = writer.call(
            services.party_create,
            at=REFERENCE_DATA_AT,
            name=name,
            kind=kind,
            country=country,
            parent=parties[parent_key] if parent_key else None,
            short_name=short_name,
            is_neutral=key in _NEUTRAL_PARTIES,
        )
    world = World(parties=parties)
    existing_sources = {
        (s.title, s.publisher, s.published_on): s
        for s in Source.objects.filter(publisher__in=[p[0] for p in PUBLISHERS.values()])
    }
    span = (AS_OF - dt.date(2022, 3, 1)).days
    publisher_keys = list(PUBLISHERS)
    weights = [5, 3, 3, 4, 2, 3, 3, 2, 1, 2]
    by_category: dict[str, list[Source]] = defaultdict(list)
    seen: set[tuple[str, str, dt.date]] = set()
    while len(seen) < SOURCE_POOL_SIZE:
        key = rng.choices(publisher_keys, weights)[0]
        publisher, domain, language, reliability, category = PUBLISHERS[key]
        published_on = dt.date(2022, 3, 1) + dt.timedelta(days=rng.randrange(span))
        title = rng.choice(SOURCE_TITLES[category]).format(region=rng.choice(REGIONS))
        identity = (title, publisher, published_on)
        if identity in seen:
            continue
        seen.add(identity)
        at = _at(rng, published_on)
        source = existing_sources.get(identity)
        if source is None:
            slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]
            source = writer.call(
                services.source_create,
                at=at,
                title=title,
                publisher=publisher,
                url=f"https://{domain}/{published_on:%Y/%m/%d}/{slug}",
                published_on=published_on,
                language=language,
                reliability=reliability,
            )
        by_category[category].append(source)
    for category, pool in by_category.items():
        pool.sort(key=lambda s: (s.published_on, s.title))
        world.sources[category] = pool
        world.source_dates[category] = [s.published_on for s in pool]
    existing_places = {place.name: place for place in DetentionPlace.objects.all()}
    for country, names in DETENTION.items():
        detaining = parties["ua" if country == "UA" else "ru"]
        for name in (*names, HOSPITALS[country]):
            place = existing_places.get(name)
            if place is None:
                place = writer.call(
                    place_services.place_create,
                    at=REFERENCE_DATA_AT,
                    name=name,
                    kind="hospital" if name == HOSPITALS[country] else _place_kind(name),
                    detaining_party=detaining,
                    country=country,
                )
            world.places[name] = place
    return world


def _place_kind(name: str) -> str:
    """Return the kind of a place of detention from its name."""
    if "camp" in name:
        return "camp"
    return "prison"


def _at(rng: random.Random, day: dt.date) -> dt.datetime:
    """Return a moment in office hours on ``day``: when a call is made."""
    return dt.datetime.combine(
        day, dt.time(rng.randint(7, 18), rng.randint(0, 59), rng.randint(0, 59)), tzinfo=dt.UTC
    )


# --------------------------------------------------------------------------------------------
# One case's story
# --------------------------------------------------------------------------------------------

_COHORT_FACTS = {
    # cohort: (detaining party key, home state key, armed force key, home country,
    #          detaining country, language of quotes)
    "ru_in_ua": ("ua", "ru", "ru_af", "RU", "UA", "ru"),
    "ua_in_ru": ("ru", "ua", "ua_afu", "UA", "RU", "uk"),
    "kp_in_ua": ("ua", "kp", "kp_kpa", "KP", "UA", "ko"),
}

_QUOTES = {
    ("ko", IntentionOption.THIRD_STATE): "한국에 가고 싶습니다.",
    ("ko", IntentionOption.RETURN_HOME): "고향에 돌아가고 싶습니다.",
    ("ko", IntentionOption.UNDECIDED): "아직 결정하지 못했습니다.",
    ("ru", IntentionOption.RETURN_HOME): "Хочу домой, к семье.",
    ("ru", IntentionOption.REMAIN): "Я не хочу возвращаться в Россию.",
    ("ru", IntentionOption.THIRD_STATE): "Хочу уехать в другую страну.",
    ("ru", IntentionOption.UNDECIDED): "Пока не знаю, мне нужно подумать.",
    ("uk", IntentionOption.RETURN_HOME): "Хочу додому.",
    ("uk", IntentionOption.REMAIN): "Я залишуся тут.",
    ("uk", IntentionOption.UNDECIDED): "Ще не вирішив.",
}

_WOUNDS = [
    "Gunshot wound to the jaw",
    "Shrapnel wounds to both legs",
    "Fractured left forearm",
    "Concussion from an artillery blast",
    "Gunshot wound to the shoulder",
    "Burns to the hands and face",
]

_NOTES = [
    "Family contacted through the ICRC Central Tracing Agency.\nMother confirmed identity.",
    "Asked for a Korean-speaking interpreter for the next interview.",
    "Complains of untreated pain; medical check requested.",
    "Name appears on the other side's exchange list with a different spelling.",
    "Interview postponed: the detaining authority did not allow a private meeting.",
    "Wants his statement kept from the press; his family is still at home.",
    "Service number checked against the capture card; it matches.",
    "Lawyer appointed by the Bridge to Freedom Legal Aid Centre.",
]


class CaseStory:
    """Plan and write one person's custody episode, call by call, through the services."""

    def __init__(self, writer: ServiceCalls, world: World, rng: random.Random, reference: Callable):
        self.w = writer
        self.world = world
        self.rng = rng
        self.reference = reference
        self.day = WAR_START
        #: The ICRC's private interviews of the person, by day (one visit a day at most).
        self.interviews: dict[dt.date, Interview] = {}

    # -- time ----------------------------------------------------------------------------

    def at(self) -> dt.datetime:
        """Return the moment of the next call: office hours on the story's current day."""
        return _at(self.rng, self.day)

    def step(self, low: int, high: int) -> bool:
        """Move the story on by ``low``..``high`` days; False once past the data set's end."""
        self.day += dt.timedelta(days=self.rng.randint(low, high))
        return self.day <= AS_OF

    def party(self, key: str) -> Party:
        """Return the party known by ``key`` in ``PARTIES``."""
        return self.world.parties[key]

    # -- the story -----------------------------------------------------------------------

    def run(self) -> Case:
        """Write the whole story; return the case."""
        r = self.rng
        roll = r.random()
        self.cohort = "kp_in_ua" if roll < 0.03 else "ru_in_ua" if roll < 0.55 else "ua_in_ru"
        detaining_key, home_key, force_key, home, held_in, language = _COHORT_FACTS[self.cohort]
        self.home, self.held_in, self.language = home, held_in, language
        self.detainer = self.party(detaining_key)
        self.home_state = self.party(home_key)

        place, captured_on = self._capture()
        precision = r.choices(
            [DatePrecision.DAY, DatePrecision.MONTH, DatePrecision.APPROXIMATE, DatePrecision.YEAR],
            [75, 14, 8, 3],
        )[0]
        stored_capture = _truncate(captured_on, precision)
        self.day = min(captured_on + dt.timedelta(days=r.randint(0, 6)), AS_OF)
        self.wounded = r.random() < (0.35 if self.cohort == "kp_in_ua" else 0.2)
        self.civilian = self.cohort == "ua_in_ru" and r.random() < 0.06
        self.person = self._person(force_key)

        legal_status = (
            choices.LegalStatus.CIVILIAN_INTERNEE
            if self.civilian
            else r.choices(
                [
                    choices.LegalStatus.POW,
                    choices.LegalStatus.PRESUMED_POW,
                    choices.LegalStatus.UNKNOWN,
                ],
                [80, 15, 5] if self.cohort != "kp_in_ua" else [40, 55, 5],
            )[0]
        )
        fields: dict[str, Any] = {
            "legal_status": legal_status,
            "capture_date": stored_capture,
            "capture_date_precision": precision,
            "capture_place": place.name,
            "capture_place_code": place.code,
        }
        if r.random() < 0.7:
            fields["detention_place"] = r.choice(DETENTION[held_in])
        fields["priority"] = (
            choices.Priority.URGENT
            if self.wounded and r.random() < 0.3
            else r.choices(
                [choices.Priority.NORMAL, choices.Priority.HIGH, choices.Priority.LOW],
                [75, 15, 10],
            )[0]
        )
        self.case = self.w.call(
            services.case_open,
            at=self.at(),
            reference=self.reference(held_in, self.day.year),
            person=self.person,
            detaining_party=self.detainer,
            **fields,
        )
        verb = "Surrendered" if r.random() < 0.3 else "Captured"
        self.w.call(
            services.occurrence_record,
            at=self.at(),
            case=self.case,
            kind=OccurrenceKind.CAPTURE,
            occurred_on=stored_capture,
            occurred_on_precision=precision,
            description=f"{verb} near {place.name}",
            place=place.name,
        )
        self._identity_rows()
        self._capture_movement()
        self._custody()
        return self.case

    # -- identity and places -------------------------------------------------------------

    def _identity_rows(self) -> None:
        """Record some documents he carried, an ICRC number, and claims to his nationality."""
        r = self.rng
        home = self.home
        if r.random() < 0.45:
            carried_russian = self.cohort == "kp_in_ua" and r.random() < 0.6
            issuer = "RU" if carried_russian else home
            digits = r.randrange(10**7)
            self.w.call(
                identity_services.identity_document_record,
                at=self.at(),
                person=self.person,
                kind=DocumentKind.MILITARY_ID if r.random() < 0.7 else DocumentKind.PASSPORT,
                issuer_country=issuer,
                number=f"{issuer}-{digits:07d}",
                name_on_document=self.person.working_name,
                genuineness=(
                    DocumentGenuineness.NOT_HIS_OWN
                    if carried_russian
                    else r.choice([DocumentGenuineness.GENUINE, DocumentGenuineness.UNKNOWN])
                ),
            )
        if r.random() < 0.6:
            # The case's reference is unique, so the number is unique in its scheme.
            self.w.call(
                identity_services.external_identifier_record,
                at=self.at(),
                person=self.person,
                scheme=IdentifierScheme.ICRC,
                value="CTA-" + self.case.reference.replace("-", ""),
                issued_by=self.party("icrc"),
            )
        if self.cohort == "kp_in_ua" and r.random() < 0.7:
            self.w.call(
                identity_services.nationality_claim_record,
                at=self.at(),
                person=self.person,
                country="KR",
                claimed_by=self.party("kr"),
                basis="Constitution of the Republic of Korea, Art. 3: the whole peninsula",
            )
        if r.random() < 0.25:
            self.w.call(
                identity_services.nationality_claim_record,
                at=self.at(),
                person=self.person,
                country=home,
                claimed_by=self.home_state,
                basis="Named on the other side's exchange list as its serviceman",
            )

    def _capture_movement(self) -> None:
        """Record his arrival at a first place and, mostly, the capture card that answers it."""
        r = self.rng
        name = HOSPITALS[self.held_in] if self.wounded else r.choice(DETENTION[self.held_in])
        self.place = self.world.places[name]
        movement = self.w.call(
            place_services.movement_record,
            at=self.at(),
            case=self.case,
            to_place=self.place,
            moved_on=self.day,
            kind=MovementKind.CAPTURE,
        )
        self._capture_card(movement)

    def _capture_card(self, movement) -> None:
        """Record a card for ``movement``: sent (most), declined, or none yet (overdue)."""
        r = self.rng
        roll = r.random()
        if roll < 0.7:
            filled = min(self.day + dt.timedelta(days=r.randint(0, 5)), AS_OF)
            sent = min(filled + dt.timedelta(days=r.randint(0, 4)), AS_OF)
            self.w.call(
                place_services.capture_card_record,
                at=self.at(),
                movement=movement,
                filled_in_on=filled,
                sent_to_agency_on=sent,
                health=CardHealth.WOUNDED if self.wounded else CardHealth.WELL,
                address_given=r.random() < 0.6,
            )
        elif roll < 0.8:
            self.w.call(
                place_services.capture_card_record,
                at=self.at(),
                movement=movement,
                declined=True,
                declined_on=min(self.day + dt.timedelta(days=r.randint(0, 6)), AS_OF),
            )

    def _capture(self) -> tuple[Place, dt.date]:
        r = self.rng
        if self.cohort == "kp_in_ua":
            places = [p for p in PLACES if "kp_in_ua" in p.cohorts]
            start, end = NK_WINDOW
        else:
            places = [p for p in PLACES if self.cohort in p.cohorts]
            start = end = None
        weights = [((p.end - p.start).days + 30) for p in places]
        place = r.choices(places, weights)[0]
        start = max(start or place.start, place.start, WAR_START)
        end = min(end or place.end, place.end, LAST_CAPTURE)
        if end < start:
            start, end = place.start, min(place.end, LAST_CAPTURE)
        return place, start + dt.timedelta(days=r.randint(0, (end - start).days))

    # -- the person ----------------------------------------------------------------------

    def _person(self, force_key: str) -> Person:
        r = self.rng
        female = self.cohort == "ua_in_ru" and r.random() < 0.04
        if self.cohort == "kp_in_ua":
            working_name, names = self._korean_names()
            birth_year = r.randint(1996, 2006)
            birth_places = ["Pyongyang", "Hamhung", "Chongjin", "Sinuiju", "Wonsan", "Hyesan"]
            ranks = ["Private", "Junior Sergeant", "Sergeant", "Senior Sergeant", "Lieutenant"]
            unit = f"{r.choice([11, 11, 11, 94])}th Corps, {r.randint(1, 9)}th Brigade"
        else:
            working_name, names = self._slavic_names(female)
            birth_year = r.randint(1965, 2005)
            if self.cohort == "ru_in_ua":
                birth_places = [
                    "Novosibirsk",
                    "Ulan-Ude",
                    "Rostov-on-Don",
                    "Krasnodar",
                    "Omsk",
                    "Kyzyl",
                    "Ufa",
                    "Perm",
                    "Chelyabinsk",
                    "Irkutsk",
                ]
                ranks = ["Private", "Corporal", "Junior Sergeant", "Sergeant", "Lieutenant"]
                unit = r.choice(
                    [
                        f"{r.randint(1, 200)}th Motor Rifle Regiment",
                        f"{r.randint(1, 150)}th Separate Motor Rifle Brigade",
                        f"Storm-Z detachment, {r.randint(1, 60)}th Army",
                        f"{r.randint(80, 240)}th Guards Airborne Assault Regiment",
                    ]
                )
            else:
                birth_places = [
                    "Kyiv",
                    "Kharkiv",
                    "Dnipro",
                    "Zaporizhzhia",
                    "Lviv",
                    "Odesa",
                    "Poltava",
                    "Mariupol",
                    "Chernihiv",
                    "Sumy",
                ]
                ranks = ["Soldier", "Senior Soldier", "Junior Sergeant", "Sergeant", "Lieutenant"]
                unit = r.choice(
                    [
                        f"{r.randint(10, 160)}th Separate Mechanised Brigade",
                        f"{r.randint(1, 50)}th Separate Assault Brigade",
                        f"{r.randint(100, 130)}th Territorial Defence Brigade",
                        f"{r.randint(35, 38)}th Separate Marine Brigade",
                    ]
                )
        birth_precision = r.choices(
            [DatePrecision.DAY, DatePrecision.YEAR, DatePrecision.APPROXIMATE, DatePrecision.MONTH],
            [60, 25, 10, 5],
        )[0]
        birth = _truncate(
            dt.date(birth_year, 1, 1) + dt.timedelta(days=r.randrange(365)), birth_precision
        )
        fields: dict[str, Any] = {
            "sex": choices.Sex.FEMALE if female else choices.Sex.MALE,
            "birth_date": birth,
            "birth_date_precision": birth_precision,
            **self._art17_fields(names),
        }
        if r.random() < 0.7:
            fields["birth_place"] = r.choice(birth_places)
        fields["nationalities"] = [self.home]
        fields["identity_confidence"] = r.choices(
            ["confirmed", "claimed", "disputed", "unknown"],
            [50, 35, 5, 10] if self.cohort != "kp_in_ua" else [10, 45, 35, 10],
        )[0]
        if not self.civilian:
            fields["armed_force"] = self.party(force_key)
            fields["rank"] = r.choice(ranks)
            fields["unit"] = unit
            if self.cohort != "kp_in_ua" and r.random() < 0.6:
                letters = "".join(r.choice("АБВГДЕКМНОПРСТ") for _ in range(2))
                fields["service_number"] = f"{letters}-{r.randrange(10**6):06d}"
        fields["power_depends_on"] = self.home_state
        if self.wounded:
            fields["medical_notes"] = r.choice(_WOUNDS)
        if r.random() < 0.3:
            fields["family_links"] = r.choice(
                [
                    "Mother and father alive; contact through the ICRC only.",
                    "Wife and two children; address withheld.",
                    "Parents unaware of capture.",
                ]
            )
        return self.w.call(
            services.person_create, at=self.at(), working_name=working_name, names=names, **fields
        )

    def _art17_fields(self, names: list[NameSpec]) -> dict[str, str]:
        """Return his true name as the Convention records it, his parents' names, whom to
        inform and where: in his own script mostly, in a Latin spelling sometimes."""
        r = self.rng
        if r.random() < 0.2:
            return {}
        native, latin = names[0].value, names[-1 if len(names) < 3 else 2].value
        if self.cohort == "kp_in_ua":
            family, given = native[0], native[1:]
            father, mother = r.choice(KO_GIVEN)[0], r.choice(KO_SURNAMES)[0]
        else:
            family, given = native.split(" ", 1)
            father = r.choice(RU_GIVEN)[0] if self.cohort == "ru_in_ua" else r.choice(UK_GIVEN)[0]
            mother = r.choice(RU_SURNAMES if self.cohort == "ru_in_ua" else UK_SURNAMES)
        if r.random() < 0.2:
            family, _sep, given = latin.partition(" ")
        fields = {"family_name": family, "given_names": given, "father_first_name": father}
        if r.random() < 0.6:
            fields["mother_maiden_name"] = mother
        if r.random() < 0.5:
            fields["person_to_inform"] = f"{mother} (mother)"
            fields["correspondence_address"] = f"{r.randint(1, 120)} {r.choice(REGIONS)} Street"
        return fields

    def _korean_names(self) -> tuple[str, list[NameSpec]]:
        r = self.rng
        nk, sk, rr, mr, nko, press = r.choice(KO_SURNAMES)
        g_hangul, g_rr, g_mr, g_nk, g_press = r.choice(KO_GIVEN)
        press_surname = r.choice(press)
        names = [
            NameSpec(nk + g_hangul, "hangul"),
            NameSpec(sk + g_hangul, "hangul"),
            NameSpec(f"{nko} {g_nk}", "latin", "north_korean"),
            NameSpec(f"{rr} {g_rr}", "latin", "revised"),
            NameSpec(f"{mr} {g_mr}", "latin", "mccune_reischauer"),
            NameSpec(f"{press_surname} {g_press}", "latin", "press"),
        ]
        working_name = nko
        if r.random() < 0.4:
            surname, given = r.choice(TUVAN_SURNAMES), r.choice(TUVAN_GIVEN)
            names.append(NameSpec(f"{surname} {given}", "cyrillic", "", True))
            names.append(
                NameSpec(
                    f"{translit_ru_bgn(surname)} {translit_ru_bgn(given)}",
                    "latin",
                    "bgn_pcgn",
                    True,
                )
            )
        if r.random() < 0.25:
            alias = r.choice(KO_SURNAMES)
            names.append(NameSpec(f"{alias[4]}", "latin", "press", True))
            working_name = alias[4]
        return working_name, dedupe_names(names)

    def _slavic_names(self, female: bool) -> tuple[str, list[NameSpec]]:
        r = self.rng
        if self.cohort == "ru_in_ua":
            surname, (given, _) = r.choice(RU_SURNAMES), r.choice(RU_GIVEN)
            patronymic = r.choice(RU_GIVEN)[1]
            full = f"{surname} {given} {patronymic}"
            bgn = " ".join(translit_ru_bgn(part) for part in (surname, given, patronymic))
            press = f"{translit_ru_press(given)} {translit_ru_press(surname)}"
            names = [
                NameSpec(full, "cyrillic"),
                NameSpec(bgn, "latin", "bgn_pcgn"),
                NameSpec(press, "latin", "press"),
            ]
            call_signs = CALL_SIGNS["ru"]
            translit = translit_ru_bgn
        else:
            surname = r.choice(UK_SURNAMES)
            patronymic = r.choice(UK_GIVEN)[1]
            if female:
                given = r.choice(UK_GIVEN_FEMALE)
                patronymic = re.sub(r"ович$", "івна", re.sub(r"йович$", "ївна", patronymic))
            else:
                given = r.choice(UK_GIVEN)[0]
            full = f"{surname} {given} {patronymic}"
            national = f"{translit_uk_national(given)} {translit_uk_national(surname)}"
            bgn = " ".join(translit_uk_bgn(part) for part in (surname, given, patronymic))
            names = [
                NameSpec(full, "cyrillic"),
                NameSpec(national, "latin", "conventional"),
                NameSpec(bgn, "latin", "bgn_pcgn"),
            ]
            press = national
            call_signs = CALL_SIGNS["uk"]
            translit = translit_uk_national
        working_name = press
        if r.random() < 0.12:
            call_sign = r.choice(call_signs)
            names.append(NameSpec(call_sign, "cyrillic", "", True))
            names.append(NameSpec(translit(call_sign), "latin", "", True))
            working_name = translit(call_sign)
        return working_name, dedupe_names(names)

    # -- custody -------------------------------------------------------------------------

    def move(
        self, status: str, reason: str = "", on: dt.date | None = None, destination: str = ""
    ) -> None:
        """Change the case's status, dated ``on`` when the day in the world is known."""
        extra = {"destination_country": destination} if destination else {}
        if status == CaseStatus.RELEASED:
            # Released where he is held: to its civilian authorities, or under its protection.
            extra["released_to"] = self.held_in
        self.w.call(
            services.case_change_status,
            at=self.at(),
            case=self.case,
            status=status,
            reason=reason,
            occurred_on=on,
            **extra,
        )

    def hand_over(self, request: Request, receiving: Party, reason: str) -> None:
        """Hand him over today, executing ``request`` and closing the case (the gate passed).

        The reconfirmation the ICRC took in private today, if any, is the handover's.
        """
        taken = self.w.current_intention(self.case)
        if not (
            taken is not None
            and taken.verification == Verification.RECONFIRMED
            and taken.stated_on == self.day
        ):
            taken = None
        self.w.call(
            handover_record,
            at=self.at(),
            request=request,
            occurred_on=self.day,
            receiving_authority=receiving,
            present_parties=[self.party("icrc")],
            reconfirmation=taken,
            reason=reason,
        )

    def consent_refused(self, request: Request) -> bool:
        """Return whether the consent gate is shut today for executing ``request``."""
        move = consent.move_for_request(request)
        return move is not None and not self.w.gate(self.case, move, on=self.day).passed

    def occur(self, kind: str, description: str, source: Source | None = None, **extra) -> None:
        """Record something that happened today in the story."""
        self.w.call(
            services.occurrence_record,
            at=self.at(),
            case=self.case,
            kind=kind,
            occurred_on=self.day,
            description=description,
            source=source,
            **extra,
        )

    def _custody(self) -> None:
        r = self.rng
        if self.wounded:
            self.move(CaseStatus.HOSPITALISED, "Evacuated wounded from the battlefield", self.day)
            self.occur(OccurrenceKind.MEDICAL, f"Admitted to hospital: {self.person.medical_notes}")
        else:
            if not self.step(1, 10):
                return
            self.move(CaseStatus.REGISTERED, on=self.day)
        if r.random() < 0.35 and self.step(1, 6):
            self.occur(
                OccurrenceKind.CAPTURE_CARD,
                "Capture card sent to the ICRC Central Tracing Agency (GC III Art. 70)",
            )
        if not self.step(3, 40):
            return
        self.move(CaseStatus.INTERNED, on=self.day)

        # The fate decides which requests are made and how the episode ends.
        held_days = (AS_OF - self.day).days
        roll = r.random()
        if roll < 0.012:
            fate = "died"
        elif roll < 0.015:
            fate = "escaped"
        elif self.cohort == "kp_in_ua":
            fate = r.choices(["third_state", "held", "home"], [45, 45, 10])[0]
        elif self.civilian:
            fate = r.choices(["released", "exchange", "held"], [40, 30, 30])[0]
        elif self.cohort == "ru_in_ua":
            fate = r.choices(["exchange", "remain", "third_state", "held"], [55, 9, 3, 33])[0]
        else:
            fate = r.choices(["exchange", "medical", "held"], [55, 5, 40])[0]
        if fate == "medical" and not self.wounded:
            fate = "exchange"
        self.fate = fate
        # Exchanges come in rounds; a long wait is common.
        self.release_after = int(r.expovariate(1 / 420)) + 45
        if fate == "exchange" and self.release_after > held_days:
            fate = self.fate = "held"

        if self.wounded and r.random() < 0.5 and self.step(5, 40):
            # A second stay in hospital, for surgery, with a request for treatment.
            self.move(CaseStatus.HOSPITALISED, "Admitted for surgery", self.day)
            self._medical_request()
            if r.random() < 0.3 or not self.step(10, 60):
                return  # still in hospital
            self.move(CaseStatus.INTERNED, "Discharged from hospital", self.day)

        if r.random() < (0.9 if self.cohort == "kp_in_ua" else 0.2) and self.step(3, 40):
            self._publication()
        if r.random() < (0.1 if self.held_in == "RU" else 0.35) and self.step(10, 90):
            self.occur(
                OccurrenceKind.ICRC_VISIT,
                "ICRC delegates visited the place of detention",
                place=self.case.detention_place,
            )
        if r.random() < 0.2 and self.step(5, 120):
            self._transfer_of_place()
        if self.case.legal_status == choices.LegalStatus.PRESUMED_POW and r.random() < 0.6:
            if self.step(20, 120):
                self.w.call(
                    services.case_update,
                    at=self.at(),
                    case=self.case,
                    legal_status=choices.LegalStatus.POW,
                    reason="Art. 5 tribunal confirmed prisoner-of-war status",
                )
        if r.random() < 0.15 and self.step(5, 60):
            self._person_update()
        for _ in range(r.choices([0, 1, 2, 3], [66, 27, 5, 2])[0]):
            if self.step(1, 90):
                self.w.call(services.note_add, at=self.at(), case=self.case, body=r.choice(_NOTES))
        if self.day > AS_OF:
            return
        getattr(self, f"_fate_{fate}")()

    def _medical_request(self) -> None:
        request = self._file(
            RequestKind.MEDICAL_TREATMENT,
            "ua_hq" if self.held_in == "UA" else "ru_mod",
            requested_by=self.party("icrc") if self.rng.random() < 0.6 else None,
            legal_basis="GC III Art. 30",
        )
        self._request_through(
            request,
            [
                RequestStatus.ACKNOWLEDGED,
                RequestStatus.UNDER_REVIEW,
                RequestStatus.ACCEPTED,
                RequestStatus.SCHEDULED,
                RequestStatus.EXECUTED,
            ][: self.rng.randint(2, 5)],
            decision_reason="Surgery approved",
        )

    def _publication(self) -> None:
        r = self.rng
        outlet = r.choice(["media_kr"] if self.cohort == "kp_in_ua" else ["media_ua", "media_ua2"])
        if self.held_in == "RU":
            outlet = r.choice(["media_ru", "media_intl"])
        source = self.world.source_near(r, "media", self.day)
        self.occur(
            OccurrenceKind.PUBLICATION,
            f"Interview video published by {self.party(outlet).name}",
            source=source,
        )
        self._first_intention(outlet, source)

    def _transfer_of_place(self) -> None:
        new_place = self.rng.choice(DETENTION[self.held_in])
        if new_place == self.case.detention_place:
            return
        self.occur(OccurrenceKind.TRANSFER_OF_PLACE, f"Moved to {new_place}", place=new_place)
        self.w.call(services.case_update, at=self.at(), case=self.case, detention_place=new_place)
        place = self.world.places[new_place]
        if place.pk != self.place.pk:
            # A transfer owes notifications (GC III Art. 122), left pending, and a new card.
            movement = self.w.call(
                place_services.movement_record,
                at=self.at(),
                case=self.case,
                from_place=self.place,
                to_place=place,
                moved_on=self.day,
                kind=MovementKind.TRANSFER,
            )
            self.place = place
            self._capture_card(movement)

    def _person_update(self) -> None:
        r = self.rng
        fields: dict[str, Any] = {}
        if self.person.identity_confidence != "confirmed":
            fields["identity_confidence"] = "confirmed"
        if not self.person.service_number and self.cohort != "kp_in_ua":
            fields["service_number"] = (
                f"{r.choice('АБВГДЕК')}{r.choice('МНОП')}-{r.randrange(10**6):06d}"
            )
        if fields:
            self.w.call(
                services.person_update,
                at=self.at(),
                person=self.person,
                reason="Checked against the capture card and the family's statement",
                **fields,
            )

    # -- intentions ----------------------------------------------------------------------

    def _option(self) -> tuple[str, str]:
        r = self.rng
        if self.cohort == "kp_in_ua":
            option = r.choices(
                [
                    IntentionOption.THIRD_STATE,
                    IntentionOption.UNDECIDED,
                    IntentionOption.RETURN_HOME,
                    IntentionOption.DECLINED,
                ],
                [55, 30, 10, 5],
            )[0]
            if self.fate == "third_state":
                option = IntentionOption.THIRD_STATE
        elif self.cohort == "ru_in_ua":
            option = {
                "remain": IntentionOption.REMAIN,
                "third_state": IntentionOption.THIRD_STATE,
            }.get(
                self.fate,
                r.choices(
                    [
                        IntentionOption.RETURN_HOME,
                        IntentionOption.UNDECIDED,
                        IntentionOption.DECLINED,
                    ],
                    [88, 8, 4],
                )[0],
            )
        else:
            option = r.choices(
                [
                    IntentionOption.RETURN_HOME,
                    IntentionOption.REMAIN,
                    IntentionOption.UNDECIDED,
                    IntentionOption.DECLINED,
                ],
                [88, 5, 5, 2],
            )[0]
        return option, self._destination(option)

    def _destination(self, option: str) -> str:
        if option == IntentionOption.RETURN_HOME:
            return self.home
        if option == IntentionOption.REMAIN:
            return self.held_in
        if option == IntentionOption.THIRD_STATE:
            return "KR" if self.cohort == "kp_in_ua" else self.rng.choice(["KZ", "GE", "DE"])
        return ""

    def _statement(
        self, option: str, destination: str, setting: str, verification: str, heard_by: Party
    ) -> dict[str, Any]:
        r = self.rng
        fields: dict[str, Any] = {"option": option}
        if destination:
            fields["destination_country"] = destination
        if r.random() < 0.3:
            fields["certainty"] = r.choice(["80% decided", "firm", "still thinking", "certain"])
        if self.cohort == "kp_in_ua" and option == IntentionOption.THIRD_STATE and self.wounded:
            fields["conditions"] = "If the surgery he needs is possible there"
        elif r.random() < 0.1:
            fields["conditions"] = "If his family will not be punished"
        quote = _QUOTES.get((self.language, option))
        if quote and r.random() < 0.6:
            fields["quote"] = quote
            fields["quote_language"] = self.language
        fields["stated_on"] = self.day
        if verification in choices.VERIFIED_LEVELS:
            # A private interview by a neutral body: dated, without the detaining power's
            # staff, after the person was told his options.
            fields["detaining_power_present"] = choices.Presence.NO
            fields["options_explained"] = True
        elif r.random() < 0.1:
            fields["stated_on_precision"] = DatePrecision.MONTH
            fields["stated_on"] = self.day.replace(day=1)
        if verification == Verification.WITNESSED:
            fields["present_parties"] = [self.party("ngo_kr")]
        fields["heard_by"] = heard_by
        fields["heard_by_role"] = {
            PartyKind.MEDIA: "journalist",
            PartyKind.LEGISLATOR: "member of parliament",
            PartyKind.INTERNATIONAL_ORGANISATION: "delegate",
            PartyKind.AGENCY: "interviewing officer",
        }.get(heard_by.kind, "")
        fields["setting"] = setting
        if self.cohort == "kp_in_ua" and setting != StatementSetting.PRIVATE_NEUTRAL_INTERVIEW:
            fields["interpreter_supplied_by"] = self.party(r.choice(["ua_sbu", "kr_nis"]))
        fields["verification"] = verification
        return fields

    def _first_intention(self, outlet: str | None = None, source: Source | None = None) -> None:
        r = self.rng
        if self.w.current_intention(self.case) is not None or self.day > AS_OF:
            return
        option, destination = self._option()
        if outlet is not None:
            setting, heard_by = StatementSetting.MEDIA_INTERVIEW, self.party(outlet)
            verification = r.choice([Verification.REPORTED, Verification.STATED])
        elif self.cohort == "kp_in_ua" and r.random() < 0.5:
            setting, heard_by = StatementSetting.LEGISLATOR_INTERVIEW, self.party("leg_kr")
            verification = r.choice([Verification.STATED, Verification.WITNESSED])
        else:
            setting = StatementSetting.OFFICIAL_INTERVIEW
            heard_by = self.party("ua_sbu" if self.held_in == "UA" else "ru_fsb")
            verification = Verification.STATED
            if source is None:
                category = "official_ua" if self.held_in == "UA" else "official_ru"
                source = self.world.source_near(r, category, self.day)
        intention = self.w.call(
            services.intention_record,
            at=self.at(),
            case=self.case,
            source=source,
            **self._statement(option, destination, setting, verification, heard_by),
        )
        # Statements filmed by the detaining power can be disputed later.
        if self.held_in == "RU" and option == IntentionOption.REMAIN and self.step(10, 60):
            self.w.call(
                services.intention_set_state,
                at=self.at(),
                intention=intention,
                state=IntentionState.CONTESTED,
                reason="Recorded on camera by the detaining power; possibly under duress",
                occurred_on=self.day,
            )
        elif r.random() < 0.04 and self.step(10, 60):
            self.w.call(
                services.intention_set_state,
                at=self.at(),
                intention=intention,
                state=IntentionState.WITHDRAWN,
                reason="The person withdrew this statement in a later conversation",
                occurred_on=self.day,
            )

    def _change_of_mind(self, option: str | None = None) -> None:
        """Record a new statement that replaces the current one (a change of mind)."""
        current = self.w.current_intention(self.case)
        if current is None or self.day > AS_OF:
            return
        if option is None:
            option, destination = self._option()
        else:
            destination = self._destination(option)
        verification = current.verification
        if verification == Verification.RECONFIRMED:
            verification = Verification.VERIFIED  # a new wish has nothing to reconfirm
        said = self._statement(option, destination, current.setting, verification, current.heard_by)
        if verification in choices.VERIFIED_LEVELS:
            said["interview"] = self._private_interview()
        self.w.call(
            services.intention_supersede,
            at=self.at(),
            intention=current,
            reason="New statement in a later interview",
            **said,
        )

    def _private_interview(self) -> Interview:
        """Return the ICRC's private interview of the person today, recording its visit first.

        A verified statement is taken in such an interview (GC III Art. 126) and names it.
        """
        seen = self.interviews.get(self.day)
        if seen is None:
            visit = self.w.call(
                visit_services.visit_record,
                at=self.at(),
                visiting_body=self.party("icrc"),
                visited_on=self.day,
                detaining_party=self.case.detaining_party,
                topics="Conditions of internment; correspondence with families",
            )
            seen = self.w.call(
                visit_services.interview_record,
                at=self.at(),
                visit=visit,
                case=self.case,
                in_private=True,
            )
            self.interviews[self.day] = seen
        return seen

    def _verified_interview(self, option: str, level: str = Verification.VERIFIED) -> None:
        """Record what the person told the ICRC in private (GC III Art. 126)."""
        if self.day > AS_OF:
            return
        current = self.w.current_intention(self.case)
        if current is not None and current.option == option:
            destination = current.destination_country.code
        else:
            destination = self._destination(option)
        if level == Verification.RECONFIRMED and not any(
            i.verification in choices.VERIFIED_LEVELS
            and i.option == option
            and (i.destination_country.code or "") == destination
            and i.state in (IntentionState.ACTIVE, IntentionState.SUPERSEDED)
            for i in self.w.sink.intentions_of(self.case)
        ):
            level = Verification.VERIFIED  # nothing verified before: this is the first word
        said = self._statement(
            option,
            destination,
            StatementSetting.PRIVATE_NEUTRAL_INTERVIEW,
            level,
            self.party("icrc"),
        )
        said["interview"] = self._private_interview()
        self.w.call(
            services.intention_record,
            at=self.at(),
            case=self.case,
            source=self.world.source_near(self.rng, "icrc", self.day),
            **said,
        )

    # -- requests ------------------------------------------------------------------------

    def _request_through(
        self,
        request: Request,
        statuses: list[str],
        positions: list[tuple[str, str, str]] = (),
        decision_reason: str = "",
    ) -> bool:
        """Move ``request`` along ``statuses``; record positions while it is under review."""
        for status in statuses:
            if not self.step(3, 45):
                return False
            if status == RequestStatus.UNDER_REVIEW:
                self.w.call(
                    services.request_transition,
                    at=self.at(),
                    request=request,
                    status=status,
                    occurred_on=self.day,
                )
                for party_key, stance, conditions in positions:
                    if not self.step(1, 20):
                        return False
                    self.w.call(
                        services.position_record,
                        at=self.at(),
                        request=request,
                        party=self.party(party_key),
                        stance=stance,
                        stated_on=self.day,
                        conditions=conditions,
                        source=self.world.source_near(self.rng, "media", self.day),
                    )
                continue
            self.w.call(
                services.request_transition,
                at=self.at(),
                request=request,
                status=status,
                occurred_on=self.day,
                decision_reason=decision_reason
                if status in (RequestStatus.ACCEPTED, RequestStatus.REFUSED)
                else "",
            )
        return True

    def _file(self, kind: str, addressed_to: str, **fields: Any) -> Request:
        draft = self.rng.random() < 0.06
        if not draft:
            fields["filed_on"] = self.day
        request = self.w.call(
            services.request_file,
            at=self.at(),
            case=self.case,
            kind=kind,
            addressed_to=self.party(addressed_to),
            draft=draft,
            **fields,
        )
        if draft and self.step(1, 14):
            self.w.call(
                services.request_transition,
                at=self.at(),
                request=request,
                status=RequestStatus.FILED,
                occurred_on=self.day,
            )
        return request

    # -- fates ---------------------------------------------------------------------------

    def _fate_held(self) -> None:
        r = self.rng
        self._first_intention()
        if r.random() < 0.25 and self.step(30, 200):
            self._change_of_mind()
        if r.random() < (0.5 if self.held_in == "UA" else 0.15) and self.step(20, 150):
            current = self.w.current_intention(self.case)
            self._verified_interview(current.option if current else self._option()[0])
        if r.random() < 0.2 and self.step(10, 60):
            request = self._file(
                RequestKind.FAMILY_CONTACT,
                "ua_hq" if self.held_in == "UA" else "ru_mod",
                requested_by=self.party("icrc"),
                legal_basis="GC III Art. 70-71",
            )
            self._request_through(
                request,
                [
                    RequestStatus.ACKNOWLEDGED,
                    RequestStatus.UNDER_REVIEW,
                    RequestStatus.ACCEPTED,
                    RequestStatus.SCHEDULED,
                    RequestStatus.EXECUTED,
                ][: r.randint(1, 5)],
                decision_reason="Red Cross messages allowed",
            )
        if r.random() < 0.25 and self.step(5, 60):
            self.move(CaseStatus.ON_HOLD, "Awaiting the outcome of a criminal investigation")
            if r.random() < 0.5 and self.step(30, 200):
                self.move(CaseStatus.INTERNED, "Investigation closed", self.day)
        if self.cohort == "kp_in_ua" and r.random() < 0.5 and self.step(10, 60):
            # Still deciding, or waiting for a private interview: the request stays open.
            request = self._file(
                RequestKind.THIRD_STATE_TRANSFER,
                "ua",
                requested_by=self.party("ngo_kr"),
                destination_country="KR",
                legal_basis="1951 Refugee Convention Art. 33; CAT Art. 3",
            )
            self._request_through(
                request,
                [RequestStatus.ACKNOWLEDGED, RequestStatus.UNDER_REVIEW],
                [("kr", Stance.ACCEPTS, "If he chooses to come"), ("ru", Stance.OPPOSES, "")],
            )

    def _fate_died(self) -> None:
        self._first_intention()
        if not self.step(10, 400):
            return
        cause = self.rng.choice(["Died of wounds", "Died of illness", "Killed in a shelling"])
        self.occur(OccurrenceKind.OTHER, f"{cause} in custody")
        self.move(CaseStatus.DIED, cause, self.day)
        self.w.call(
            services.person_update,
            at=self.at(),
            person=self.person,
            is_deceased=True,
            date_of_death=self.day,
            reason="Death notified to the ICRC (GC III Art. 120)",
        )

    def _fate_escaped(self) -> None:
        if not self.step(10, 300):
            return
        self.occur(OccurrenceKind.OTHER, "Escaped during a transfer between places of detention")
        self.move(CaseStatus.ESCAPED, "Escaped during transfer", self.day)

    def _fate_released(self) -> None:
        self._first_intention()
        if not self.step(30, 400):
            return
        self.move(CaseStatus.RELEASE_APPROVED, "Civilian internee; no reason to hold", self.day)
        if self.step(1, 30):
            self.move(CaseStatus.RELEASED, "Released to the civilian authorities", self.day)

    def _fate_exchange(self) -> None:
        r = self.rng
        self._first_intention()
        requested_by = "ru_mod" if self.held_in == "UA" else "ua_hq"
        addressed_to = "ua_hq" if self.held_in == "UA" else "ru_mod"
        self.day = max(self.day, self.case.capture_date + dt.timedelta(days=self.release_after))
        if self.day > AS_OF:
            return
        request = self._file(
            RequestKind.EXCHANGE_INCLUSION,
            addressed_to,
            requested_by=self.party(requested_by),
            legal_basis="GC III Art. 109; exchange agreement",
        )
        if r.random() < 0.08:
            self._request_through(
                request,
                [RequestStatus.ACKNOWLEDGED, RequestStatus.REFUSED],
                decision_reason="Not on the agreed list for this round",
            )
            return
        steps = [RequestStatus.UNDER_REVIEW, RequestStatus.ACCEPTED]
        if r.random() < 0.2:
            steps.insert(0, RequestStatus.ACKNOWLEDGED)
        if not self._request_through(
            request,
            steps,
            [("ae", Stance.SUPPORTS, "")] if r.random() < 0.25 else [],
            decision_reason="Included in the next exchange round",
        ):
            return
        self.move(CaseStatus.RELEASE_APPROVED, "Included in an exchange", self.day)
        if not self._request_through(request, [RequestStatus.SCHEDULED]):
            return
        if r.random() < 0.05 or not self.step(1, 20):
            return  # scheduled for a round that has not happened yet
        if r.random() < 0.04:
            self.w.call(
                services.request_transition,
                at=self.at(),
                request=request,
                status=RequestStatus.FAILED,
                occurred_on=self.day,
            )
            self.move(CaseStatus.INTERNED, "Exchange postponed", self.day)
            return
        current = self.w.current_intention(self.case)
        if current is not None and current.option == IntentionOption.RETURN_HOME:
            # The ICRC asks each man in private at the handover point.
            self._verified_interview(IntentionOption.RETURN_HOME, Verification.RECONFIRMED)
        if self.consent_refused(request):
            return  # he has not said in private that he wants to go home: he stays
        self.hand_over(request, self.home_state, "Exchanged")
        if r.random() < 0.25:
            self.occur(
                OccurrenceKind.EXCHANGE_INCLUSION,
                "Returned home in a prisoner exchange",
                source=self.world.source_near(r, "exchange", self.day),
            )

    def _fate_medical(self) -> None:
        """Direct repatriation of the seriously wounded (GC III Art. 110), consent-gated."""
        r = self.rng
        self._first_intention()
        if not self.step(20, 120):
            return
        request = self._file(
            RequestKind.DIRECT_MEDICAL_REPATRIATION,
            "ru_mod" if self.held_in == "RU" else "ua_hq",
            requested_by=self.party("icrc"),
            destination_country=self.home,
            legal_basis="GC III Art. 110",
        )
        if not self._request_through(
            request,
            [RequestStatus.ACKNOWLEDGED, RequestStatus.UNDER_REVIEW, RequestStatus.ACCEPTED],
            [("icrc", Stance.SUPPORTS, "")],
            decision_reason="Mixed Medical Commission found him eligible",
        ):
            return
        self.move(CaseStatus.RELEASE_APPROVED, "Eligible for direct repatriation", self.day)
        if not self._request_through(request, [RequestStatus.SCHEDULED]):
            return
        if not self.step(1, 10):
            return
        if r.random() < 0.8:
            self._verified_interview(IntentionOption.RETURN_HOME, Verification.RECONFIRMED)
        if self.consent_refused(request):
            return  # nobody verified his consent: the request waits, scheduled
        self.hand_over(request, self.home_state, "Repatriated on medical grounds")

    def _fate_remain(self) -> None:
        r = self.rng
        self._first_intention()
        if self.step(20, 150):
            self._verified_interview(IntentionOption.REMAIN)
        if not self.step(5, 60):
            return
        request = self._file(
            RequestKind.EXCHANGE_EXCLUSION,
            "ua_hq",
            requested_by=self.party("ngo_ua"),
            legal_basis="GC III Art. 109(3); non-refoulement",
        )
        if not self._request_through(
            request,
            [RequestStatus.UNDER_REVIEW, RequestStatus.ACCEPTED],
            [("ru", Stance.OPPOSES, "")],
            decision_reason="He will not be returned against his will",
        ):
            return
        if self.step(1, 10):
            self.occur(OccurrenceKind.EXCHANGE_EXCLUSION, "Removed from the exchange list")
            self.move(CaseStatus.ON_HOLD, "Excluded from exchanges at his request", self.day)
        if not self.step(5, 60):
            return
        asylum = self._file(
            RequestKind.ASYLUM,
            "ua_migration",
            requested_by=self.party("ngo_ua"),
            destination_country="UA",
            legal_basis="1951 Refugee Convention",
        )
        outcome = r.choices([RequestStatus.ACCEPTED, RequestStatus.REFUSED, None], [45, 10, 45])[0]
        steps = [RequestStatus.ACKNOWLEDGED, RequestStatus.UNDER_REVIEW]
        if outcome:
            steps.append(outcome)
        if not self._request_through(
            asylum,
            steps,
            decision_reason="Protection granted" if outcome == "accepted" else "Not eligible",
        ):
            return
        if outcome == RequestStatus.ACCEPTED and self.step(10, 60):
            self.move(CaseStatus.RELEASE_APPROVED, "Asylum granted", self.day)
            if self.step(1, 20):
                self.move(CaseStatus.RELEASED, "Released under protection in Ukraine", self.day)

    def _fate_third_state(self) -> None:
        r = self.rng
        self._first_intention()
        if r.random() < 0.3 and self.step(20, 120):
            self._change_of_mind(IntentionOption.UNDECIDED)
            if self.step(20, 120):
                self._change_of_mind(IntentionOption.THIRD_STATE)
        verified = r.random() < 0.6
        if verified and self.step(20, 150):
            current = self.w.current_intention(self.case)
            self._verified_interview(current.option if current else IntentionOption.THIRD_STATE)
        if not self.step(5, 60):
            return
        destination = self._destination(IntentionOption.THIRD_STATE)
        current = self.w.current_intention(self.case)
        if current is not None and current.option == IntentionOption.THIRD_STATE:
            destination = current.destination_country.code
        destination_key = {"KR": "kr", "KZ": "kz", "GE": "ge", "DE": "de"}[destination]
        request = self._file(
            RequestKind.THIRD_STATE_TRANSFER,
            "ua",
            requested_by=self.party("kr_mofa" if destination == "KR" else "ngo_ua"),
            destination_country=destination,
            legal_basis="1951 Refugee Convention Art. 33; CAT Art. 3",
        )
        positions = [
            (destination_key, Stance.ACCEPTS, "If he chooses to come"),
            ("ua", Stance.CONDITIONAL, "No one will be returned to persecution against his will"),
            ("ru", Stance.OPPOSES, ""),
        ]
        if not self._request_through(
            request,
            [RequestStatus.ACKNOWLEDGED, RequestStatus.UNDER_REVIEW],
            positions[: r.randint(1, 3)],
        ):
            return
        current = self.w.current_intention(self.case)
        if not (
            current is not None
            and current.verification in choices.VERIFIED_LEVELS
            and current.option == IntentionOption.THIRD_STATE
            and current.destination_country.code == destination
        ):
            return  # the request waits until a private interview confirms the wish
        if not self._request_through(
            request,
            [RequestStatus.ACCEPTED, RequestStatus.SCHEDULED],
            decision_reason="Consent verified in a private interview",
        ):
            return
        self.move(CaseStatus.RELEASE_APPROVED, "Transfer agreed", self.day)
        if not self.step(2, 30):
            return
        # Reconfirmed in private at the handover, so that the consent is fresh.
        self._verified_interview(IntentionOption.THIRD_STATE, Verification.RECONFIRMED)
        if self.consent_refused(request):
            return
        self.hand_over(request, self.party(destination_key), "Handed over")

    def _fate_home(self) -> None:
        """A Korean soldier who asks to go back: the request stays under review."""
        self._first_intention()
        if not self.step(20, 150):
            return
        request = self._file(
            RequestKind.REPATRIATION,
            "ua",
            requested_by=None,
            destination_country="KP",
            legal_basis="GC III Art. 118",
        )
        self._request_through(
            request,
            [RequestStatus.ACKNOWLEDGED, RequestStatus.UNDER_REVIEW],
            [("kp", Stance.NO_POSITION, ""), ("kr", Stance.OPPOSES, "Risk of persecution")],
        )


def _truncate(day: dt.date, precision: str) -> dt.date:
    """Return ``day`` as stored at ``precision``: the first of the month or of the year."""
    if precision == DatePrecision.MONTH:
        return day.replace(day=1)
    if precision == DatePrecision.YEAR:
        return day.replace(month=1, day=1)
    return day
