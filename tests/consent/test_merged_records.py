"""Non-refoulement across the cases of one man, once two records of him are merged."""

from __future__ import annotations

import contextlib

import pytest
from django.core.exceptions import ValidationError

from cases import consent
from cases.duplicates.services import person_merge
from cases.models import Case, Person
from tests import factories as f

pytestmark = pytest.mark.django_db

RETURN = consent.Move("return_home")


def test_a_pending_asylum_claim_on_his_other_record_blocks_a_return_after_the_merge():
    """Ri and "Lee" are one man entered twice, each with a case. Lee's case holds his pending
    asylum claim; Ri's case holds a verified wish to go home. Once the merge says they are
    the same person, the gate must not return him to North Korea through Ri's case while
    his asylum claim is pending (GC III Art. 109(3), Refugee Convention Art. 33): a
    returned man's claim cannot be heard.
    """
    dprk = f.party("DPRK", country="KP")
    ukraine = f.party("Ukraine", country="UA")
    ri = f.person("Ri", names=[], nationalities=["KP"], power_depends_on=dprk)
    lee = f.person("Lee", names=[], nationalities=["KP"], power_depends_on=dprk)
    ri_case = f.case(reference="UA-2025-0001", person_obj=ri, detaining_party=ukraine)
    lee_case = f.case(reference="UA-2025-0002", person_obj=lee, detaining_party=ukraine)
    f.verified_wish(ri_case, "return_home", "KP")
    f.request(lee_case, kind="asylum")  # filed: pending
    assert consent.check(Case.objects.get(pk=ri_case.pk), RETURN).passed  # two men, so far
    person_merge(
        actor=f.SYSTEM, duplicate=lee, survivor=Person.objects.get(pk=ri.pk), reason="same"
    )
    case = Case.objects.get(pk=ri_case.pk)
    codes = {p.code for p in consent.check(case, RETURN).problems}
    repatriated = None
    with contextlib.suppress(ValidationError):
        repatriated = f.advance_case(case, "repatriated").status
    assert "asylum_pending" in codes and repatriated is None, (
        f"the gate's problems are {sorted(codes)} and the case reached {repatriated!r} while "
        "his asylum claim is pending"
    )
