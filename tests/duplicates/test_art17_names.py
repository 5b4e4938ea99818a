"""Likely duplicates, tried as a case officer who recorded the Art. 17 name in its fields."""

from __future__ import annotations

import pytest

from cases.duplicates import detection
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_a_person_known_by_his_art_17_name_is_offered_as_a_duplicate():
    """Prisoner 7's Art. 17 name is Ri Hyon Chol (family_name, given_names), the only names
    recorded besides his pseudonym. Creating "Ri Hyon Chol" again (or "Lee Hyon Chol") offers him,
    to the tracker itself, which sees every value; today his structured name is in no key.
    """
    seven = f.person("Prisoner 7", names=[], family_name="Ri", given_names="Hyon Chol")
    for typed in ("Ri Hyon Chol", "Lee Hyon Chol"):
        found = detection.find_duplicates(detection.Candidate(working_name=typed), user=None)
        assert [m.person.pk for m in found] == [seven.pk], typed
