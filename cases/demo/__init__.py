"""Generate a large, realistic and reproducible demo data set, written in bulk.

The data describes a large conflict: Russian soldiers held by Ukraine, Ukrainian soldiers and
civilians held by Russia, and North Korean soldiers captured in the Kursk region, with their
name variants across scripts and romanisations, custody episodes moving through the case state
machine, stated intentions that change and get verified, requests moving through the request
state machine, parties' positions, things that happened in the world, and notes; each
person's Art. 17 identity (names in his script, documents, ICRC numbers, nationality claims)
and each case's places of detention, capture and transfer movements, capture cards (some
missing, hence overdue) and the notifications its transfers owe.

Every row is written by the services themselves, handed the timeline's bulk sink
(``cases.timeline.sinks.BulkSink``): each service builds its rows and its one event draft as
it always does, and the sink keeps them in memory, answers the services' questions (the
current statement, the consent gate) from the rows it holds, and inserts everything in bulk,
a few thousand cases per transaction: ``bulk_create``, or on PostgreSQL COPY with the values
``bulk_create`` would send. The test suite replays the same calls through the row sink and
compares the rows and events.

``tables`` holds the data set's calendar and data (parties, sources, places, names and their
romanisations), ``story`` the world and one case's story, ``run`` the batches.

Everything is reproducible: each case draws from its own ``random.Random`` seeded from the run
seed and the case's index, every UUID comes from that generator, and every date is derived
from fixed dates of the conflict, never from the clock. The record times of rows
(``recorded_at``, ``opened_at``, ``updated_at``, ``created_at``) are the moment of the call
that wrote them, as the services would stamp them then; only the events' ``recorded_at``
records when the data set was loaded.

Outlets, legislators, non-governmental organisations and every person are fictional; sources
point at reserved ``example`` domains. States, armed forces, agencies and the ICRC are named
as they are.
"""

from cases.demo.run import DemoDataExists, Progress, demo_references, generate
from cases.demo.story import Call, CaseStory, ServiceCalls, World, build_world
from cases.demo.tables import (
    ACTOR,
    AS_OF,
    DEMO_REFERENCE_REGEX,
    WAR_START,
    translit_ru_bgn,
    translit_ru_press,
    translit_uk_bgn,
    translit_uk_national,
)

__all__ = [
    "ACTOR",
    "AS_OF",
    "DEMO_REFERENCE_REGEX",
    "WAR_START",
    "Call",
    "CaseStory",
    "DemoDataExists",
    "Progress",
    "ServiceCalls",
    "World",
    "build_world",
    "demo_references",
    "generate",
    "translit_ru_bgn",
    "translit_ru_press",
    "translit_uk_bgn",
    "translit_uk_national",
]
