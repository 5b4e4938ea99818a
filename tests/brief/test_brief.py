"""The case brief: a PDF of one case as its reader may see it (``cases.pages.brief``).

Each test renders the brief through the URL a reader follows and reads the PDF's text back
with pypdf: the fields are there, a reader without ``cases.view_sensitive`` gets none of
the withheld values, the reader's language and script come first, Korean is set in a CJK
font, and the download is in the access log.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pypdf
import pytest
from django.urls import reverse
from django.utils import timezone

from cases.exchanges import services as exchanges
from cases.models import AccessLogEntry
from cases.pages import brief
from cases.tasks import services as task_services
from tests import factories as f
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role
from tests.support.worlds import build_public_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def public(db):
    return build_public_case()


@pytest.fixture
def officer(client, db):
    """A case officer, signed in: he sees sensitive values."""
    user = user_in_role(CASE_OFFICER, "officer")
    client.force_login(user)
    return user


@pytest.fixture
def reader(client, db):
    """An analyst as the role table makes one, signed in: no sensitive values."""
    user = user_in_role(ANALYST, "reader")
    client.force_login(user)
    return user


def brief_url(case) -> str:
    return reverse("cases:brief", args=[case.uuid])


def pdf_of(response) -> pypdf.PdfReader:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    return pypdf.PdfReader(io.BytesIO(response.content))


def text_of(response) -> str:
    """Return the PDF's text, its lines joined by spaces (a phrase may wrap)."""
    reader = pdf_of(response)
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def font_names(response) -> set[str]:
    """Return the base names of the fonts the PDF embeds."""
    names = set()
    for page in pdf_of(response).pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


# ------------------------------------------------------------------------------------------
# What it holds
# ------------------------------------------------------------------------------------------


def test_the_brief_is_a_pdf_download_of_the_case(client, officer, public):
    """An attachment named after the reference, kept by no cache, sniffed by no browser."""
    response = client.get(brief_url(public.ri))
    pdf_of(response)
    assert response["Content-Disposition"] == 'attachment; filename="UA-2025-0001-brief.pdf"'
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_brief_holds_identity_intention_requests_gate_and_timeline(client, officer, public):
    """The identity, the current intention with its level and who heard it, the request with
    its status and South Korea's position, the consent gate's answer, the recent timeline,
    and when and by whom it was generated."""
    text = text_of(client.get(brief_url(public.ri)))
    expected = [
        "UA-2025-0001 · Ri",
        "리 (Hangul)",
        "Lee (Latin",
        "Ukraine",
        "Kursk region (RU-KRS)",
        # The current intention, its level, who heard it and how.
        "Current intention: Transfer to a third state: South Korea (Stated (direct, recorded))",
        "CURRENT",
        "Republic of Korea (lawmaker)",
        "Interview by a legislator",
        # The request, its status and the position on it.
        "Transfer to a third state to South Korea · Filed",
        "Republic of Korea: accepts",
        "if they choose",
        # The consent gate's answer today.
        "Consent gate",
        "REFUSED",
        # The sensitive values an officer may see.
        "I want to go to South Korea",
        "if jaw surgery is possible",
        # The timeline, newest first, and the generation.
        "Timeline",
        "Republic of Korea on the request for transfer to a third state (South Korea): accepts",
        "by officer",
        "Holds sensitive values",
        "No handover recorded.",
        # The task the unanswered-request rule opened, in the officer's queue.
        "Chase an answer to the transfer to a third state request to Ukraine",
    ]
    missing = [phrase for phrase in expected if phrase not in text]
    assert not missing, f"missing {missing} in:\n{text}"
    # Newest first: the position (the latest event) before the case's opening.
    assert text.index("position.recorded") < text.index("case.opened")
    assert f"Generated {timezone.localdate():%-d %b %Y}" in text


def test_the_brief_lists_open_tasks_but_not_done_ones(client, officer, public):
    """Open tasks with their due day and assignee; a task done is not listed."""
    due = timezone.localdate() + dt.timedelta(days=5)
    task_services.task_open(
        actor=f.SYSTEM,
        case=public.ri,
        title="Ask the ICRC for a private interview",
        due_on=due,
        assignee=officer,
    )
    done = task_services.task_open(
        actor=f.SYSTEM, case=public.ri, title="Send the capture card", due_on=due
    )
    task_services.task_done(actor=f.SYSTEM, task=done)
    text = text_of(client.get(brief_url(public.ri)))
    tasks = text.split("Open tasks", 1)[1].split("Timeline", 1)[0]
    assert f"{due:%-d %b %Y} Ask the ICRC for a private interview (Written by hand) officer" in (
        tasks
    )
    assert "Send the capture card" not in tasks
    assert "No open tasks." not in text


def test_the_brief_shows_the_handover(client, officer):
    """A handed-over person's brief says when, where, to whom, who was present, the
    statement that opened the gate and whether he reconfirmed there."""
    ukraine = f.party("Ukraine", country="UA")
    dprk = f.party("DPRK", country="KP")
    korea = f.party("South Korea", country="KR")
    icrc = f.neutral_party()
    person = f.person("Ri", names=[], nationalities=["KP"], power_depends_on=dprk)
    case = f.case(reference="UA-2025-0001", person_obj=person, detaining_party=ukraine)
    case = f.advance_case(case, "release_approved")
    today = timezone.localdate()
    f.verified_wish(case, "third_state", "KR", stated_on=today - dt.timedelta(days=10))
    request = f.advance_request(
        f.request(case, kind="third_state_transfer", destination_country="KR"), "scheduled"
    )
    exchanges.handover_record(
        actor=f.SYSTEM,
        request=request,
        occurred_on=today,
        receiving_authority=korea,
        place_text="Border crossing point, Poland",
        present_parties=[icrc],
        reconfirmation={
            "heard_by": icrc,
            "detaining_power_present": "no",
            "options_explained": True,
            "quote": "I want to go to South Korea.",
        },
    )
    text = text_of(client.get(brief_url(case)))
    # The labels are set beside the values (floats), which pypdf reads out first.
    section = text.split("Handover", 1)[1].split("Open tasks", 1)[0]
    assert (
        f"{today:%-d %b %Y} Border crossing point, Poland South Korea South Korea {icrc.name} "
        f"the statement of {today:%-d %b %Y} (Reconfirmed at handover) yes"
    ) in section
    for label in ("Receiving authority", "Present", "Consent gate opened by"):
        assert label in text
    assert "No handover recorded." not in text


# ------------------------------------------------------------------------------------------
# Need to know
# ------------------------------------------------------------------------------------------


def test_a_reader_without_view_sensitive_gets_no_withheld_value(client, reader, public):
    """The analyst's brief holds the case as his case page shows it: no words, no
    conditions, no true name variants, the rows that would hold them say withheld; and
    nothing is logged, since nothing sensitive left."""
    text = text_of(client.get(brief_url(public.ri)))
    for withheld in ("I want to go to South Korea", "if jaw surgery is possible", "Lee", "리"):
        assert withheld not in text
    assert "withheld if any" in text
    assert "Sensitive values are withheld from this brief." in text
    assert "UA-2025-0001 · Ri" in text
    assert not AccessLogEntry.objects.exists()


def test_the_officers_download_is_logged_with_what_it_showed(client, officer, public):
    """One response's entries: the case itself (the brief), the person's true names, the
    statement's words and conditions; each says the brief was a PDF and where it was got."""
    url = brief_url(public.ri)
    client.get(url)
    entries = list(AccessLogEntry.objects.all())
    assert len({e.response_id for e in entries}) == 1
    logged = {(e.object_type, e.object_uuid): set(e.fields) for e in entries}
    assert logged[("case", public.ri.uuid)] == set()
    assert logged[("person", public.ri.person.uuid)] == {"names"}
    assert {"quote", "conditions"} <= logged[("statedintention", public.ri_wish.uuid)]
    for entry in entries:
        assert entry.path == url
        assert entry.channel == "page"
        assert entry.username == "officer"
        assert entry.extra == brief.LOG_EXTRA


def test_the_brief_needs_what_the_case_page_needs(client, public):
    """Anonymous: to the sign-in page; an account without a role: 403; an unknown case: 404;
    anything but GET: 405."""
    url = brief_url(public.ri)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(user_in_role(None, "nobody"))
    assert client.get(url).status_code == 403
    client.force_login(user_in_role(ANALYST, "analyst"))
    assert client.get("/cases/00000000-0000-0000-0000-000000000000/brief.pdf").status_code == 404
    assert client.post(url).status_code == 405


def test_rendering_fetches_nothing(tmp_path):
    """A style sheet or image the document names is never fetched, not even from disk."""
    sheet = tmp_path / "leak.css"
    sheet.write_text('body::before { content: "FETCHED-FROM-DISK"; }')
    html = (
        f'<html><head><link rel="stylesheet" href="{sheet.as_uri()}"></head>'
        f'<body><p>inside</p><img src="{sheet.as_uri()}" alt="picture"></body></html>'
    )
    pdf = pypdf.PdfReader(io.BytesIO(brief.render_pdf(html)))
    text = pdf.pages[0].extract_text()
    assert "inside" in text
    assert "FETCHED-FROM-DISK" not in text
    with pytest.raises(ValueError, match="fetches nothing"):
        brief._no_fetching().fetch(sheet.as_uri())


# ------------------------------------------------------------------------------------------
# The reader's language and script
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "headings", "first_name"),
    [
        ("uk", ["Особа", "Утримання", "Висловлені наміри", "Перевірка згоди", "Запити"], "Ri"),
        ("ko", ["인물", "억류", "표명된 의사", "동의 확인", "요청", "경과 기록"], "리"),
    ],
)
def test_the_brief_speaks_the_readers_language(
    client, officer, public, language, headings, first_name
):
    """Headings in Ukrainian or Korean, the name in the reader's script first, dates in his
    format; Korean set in a CJK font (its glyphs are in the file, not boxes)."""
    response = client.get(brief_url(public.ri), HTTP_ACCEPT_LANGUAGE=language)
    text = text_of(response)
    missing = [heading for heading in headings if heading not in text]
    assert not missing, f"missing {missing} in:\n{text}"
    assert f"UA-2025-0001 · {first_name}" in text
    assert "Person" not in text and "Stated intentions" not in text
    if language == "ko":
        assert "2025년 2월 25일" in text  # the statement's day, as a Korean reader writes it
        assert any("CJK" in name for name in font_names(response)), font_names(response)
    else:
        assert "25 лютого 2025" in text


# ------------------------------------------------------------------------------------------
# Links and cost
# ------------------------------------------------------------------------------------------


def test_the_case_page_and_the_admin_link_to_the_brief(client, public):
    """The analysts' case page and the admin's case page both offer "Brief (PDF)"."""
    client.force_login(user_in_role(CASE_OFFICER, "staff-officer", is_staff=True))
    url = brief_url(public.ri)
    page = client.get(f"/cases/{public.ri.uuid}/").content.decode()
    assert f'href="{url}"' in page and "Brief (PDF)" in page
    admin_page = client.get(reverse("admin:cases_case_change", args=[public.ri.pk]))
    assert admin_page.status_code == 200
    assert f'href="{url}" data-testid="brief-link">Brief (PDF)</a>' in admin_page.content.decode()


def test_the_brief_query_count_is_fixed(client, officer, public, django_assert_num_queries):
    """The case page's queries (session, user, case, names, intentions and the parties at
    them, risks, requests, positions and their parties and sources, permissions, events,
    the person's other cases) and the handover, the open tasks and one access-log insert;
    the same with more tasks and events."""
    with django_assert_num_queries(20):
        client.get(brief_url(public.ri))
    for day in range(1, 6):
        task_services.task_open(
            actor=f.SYSTEM,
            case=public.ri,
            title=f"Task {day}",
            due_on=timezone.localdate() + dt.timedelta(days=day),
            assignee=officer,
        )
    with django_assert_num_queries(20):
        client.get(brief_url(public.ri))
