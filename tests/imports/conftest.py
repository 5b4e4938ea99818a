"""What the import tests share: an officer, lists written as bytes, counts of every model."""

from __future__ import annotations

import csv
import io

import pytest
from django.apps import apps

from cases.imports.models import ImportMapping, ImportRun
from tests.support.roles import CASE_OFFICER, user_in_role


@pytest.fixture
def officer(db):
    """A case officer: he may import."""
    return user_in_role(CASE_OFFICER, "import-officer")


def csv_bytes(rows: list[list[str]], *, delimiter: str = ",", bom: bool = False) -> bytes:
    """Return ``rows`` (the header first) as a UTF-8 CSV file."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def case_data_counts() -> dict[str, int]:
    """Return the row count of every model of the tracker but the imports' own records."""
    return {
        model._meta.label: model._base_manager.count()
        for model in apps.get_app_config("cases").get_models()
        if model not in (ImportRun, ImportMapping)
    }
