"""A generated 5,000-row exchange list, and an import killed half-way and run again.

The list (``cases.imports.samples``, seeded) mixes Latin, Hangul and Cyrillic names and has
repeated persons, dates that do not exist, partial dates and blank lines.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from cases.identity.models import ExternalIdentifier
from cases.imports import samples, services
from cases.imports.models import ImportRun, ImportStatus
from cases.models import Person, TimelineEvent
from tests import factories as f
from tests.imports.conftest import case_data_counts
from tests.support.clients import api_client
from tests.support.subjects import as_event_object

ROOT = Path(__file__).resolve().parents[2]


def _dry_run(user, content: bytes, name: str):
    run = services.import_upload(
        user=user, file_name=name, content=content, columns=samples.COLUMNS, kind="exchange"
    )
    return services.import_dry_run(user=user, run=run)


def _expected_writes(run) -> Counter:
    """Return the events a clean commit of ``run`` appends, by kind, from its dry run."""
    creates = [row for row in run.report["rows"] if row["outcome"] == "create"]
    return Counter(
        {
            "source.created": 1,
            "person.created": len(creates),
            "external_identifier.recorded": sum(
                1 for row in creates if row["values"].get("icrc_number")
            ),
        }
    )


@pytest.mark.django_db
def test_a_5000_row_exchange_list(officer):
    """The dry run writes nothing and reports every defect by line; the commit writes each
    new person once, with his event and his ICRC number's; the timeline's chains hold; a
    later export of the list matches everyone it keys by ICRC number."""
    content = samples.exchange_list(5000, seed=7)
    before = case_data_counts()
    run = _dry_run(officer, content, "exchange-5000.csv")
    assert case_data_counts() == before

    counts = run.report["counts"]
    assert counts["rows"] == 5000
    assert counts["blank"] > 50 and counts["error"] > 50 and counts["conflict"] > 50
    assert (
        counts["create"] + counts["match"] + counts["conflict"] + counts["error"]
        == 5000 - (counts["blank"])
    )
    rows = run.report["rows"]
    assert {row["outcome"] for row in rows if "birth_date: " in row["message"]} == {"error"}
    assert all(
        row["message"].startswith("birth_date: ") for row in rows if row["outcome"] == "error"
    )
    assert all(" line " in row["message"] for row in rows if row["outcome"] == "conflict")
    scripts = Counter(
        field
        for row in rows
        for field in ("name_hangul", "name_cyrillic")
        if row["values"].get(field)
    )
    assert scripts["name_hangul"] > 1000 and scripts["name_cyrillic"] > 1000
    precisions = Counter(row["values"].get("birth_date_precision") for row in rows)
    assert {"day", "month", "year"} <= set(precisions)

    last = TimelineEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    run = services.import_commit(actor=f.SYSTEM, run=run, skip_rejected=True)
    appended = TimelineEvent.objects.filter(id__gt=last)
    assert Counter(appended.values_list("kind", flat=True)) == _expected_writes(run)
    created = appended.filter(kind="person.created")
    assert created.values("subject_uuid").distinct().count() == counts["create"]
    rows_events = appended.exclude(kind="source.created")
    assert set(rows_events.values_list("source_id", flat=True)) == {run.source_id}
    assert Person.objects.count() == before["cases.Person"] + counts["create"]
    numbers = [r["values"].get("icrc_number") for r in rows if r["outcome"] == "create"]
    numbers = [n for n in numbers if n]
    assert ExternalIdentifier.objects.filter(value__in=numbers).count() == len(numbers)
    call_command("verify_timeline", stdout=io.StringIO())

    # The event carries the person as the API shows him.
    event = created.order_by("id").first()
    person = Person.objects.get(uuid=event.subject_uuid)
    shown = api_client(officer).get(f"/api/v1/persons/{person.uuid}/").json()
    assert event.object == as_event_object("person", shown)

    again = _dry_run(officer, content + b"\r\n", "exchange-5000-again.csv")
    keyed = [r for r in again.report["rows"] if r["outcome"] == "create"]
    assert all(not r["values"].get("icrc_number") for r in keyed)
    assert all(r["duplicates"] for r in keyed), "an unkeyed repeat is offered its first import"


def _database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        user = settings["USER"] or "postgres"
        password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
        return (
            f"postgres://{user}{password}@{settings['HOST'] or '127.0.0.1'}:"
            f"{settings['PORT'] or 5432}/{settings['NAME']}"
        )
    return f"sqlite:///{settings['NAME']}"


def _command(run: ImportRun, *extra: str) -> list[str]:
    return [
        sys.executable,
        "manage.py",
        "import_list",
        "commit",
        str(run.uuid),
        "--skip-rejected",
        *extra,
    ]


@pytest.mark.django_db(transaction=True)
def test_an_import_killed_half_way_leaves_nothing_and_a_rerun_is_one_clean_run(officer):
    """``manage.py import_list commit`` killed with SIGKILL after half its rows: nothing of
    it is in the database and the run is still a dry run; run again, it ends as one clean
    commit of the list (each person and number once, each with its event)."""
    run = _dry_run(officer, samples.exchange_list(1200, seed=3), "exchange-1200.csv")
    before = case_data_counts()
    last = TimelineEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "tracker.settings_test",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        _command(run, "--progress", "25"),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        for line in process.stdout:
            if line.startswith("applied "):
                done, total = map(int, line.split()[1].split("/"))
                if done >= total // 2:
                    break
        else:
            pytest.fail("the import ended before it was half done")
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert done < total

    assert case_data_counts() == before
    run.refresh_from_db()
    assert run.status == ImportStatus.DRY_RUN and "committed" not in run.report

    finished = subprocess.run(_command(run), cwd=ROOT, env=env, capture_output=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    run.refresh_from_db()
    assert run.status == ImportStatus.COMMITTED
    appended = TimelineEvent.objects.filter(id__gt=last)
    assert Counter(appended.values_list("kind", flat=True)) == _expected_writes(run)
    creates = run.report["counts"]["create"]
    assert Person.objects.count() == before["cases.Person"] + creates
    assert appended.filter(kind="person.created").values("subject_uuid").distinct().count() == (
        creates
    )
    call_command("verify_timeline", stdout=io.StringIO())
