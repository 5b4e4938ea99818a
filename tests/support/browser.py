"""Submitting a form in a real browser and telling why it did not land."""

from __future__ import annotations

import fnmatch
from typing import Any

#: How long a form's answer may take: a save on a loaded two-core machine, with a second
#: browser and server beside it, can take far longer than a page read.
SUBMIT_TIMEOUT_MS = 60_000


def where(page: Any) -> str:
    """The page a browser is on, told for a failure: its URL, title and first words."""
    try:
        text = " ".join(page.locator("body").inner_text(timeout=5_000).split())[:600]
    except Exception as error:  # noqa: BLE001 - a failure report must not fail itself
        text = f"(the page's text could not be read: {error})"
    return f"{page.url} ({page.title()!r}): {text}"


def refusal(page: Any) -> list[str]:
    """The error texts a form was answered with, if any."""
    errors = page.locator(".errornote, .errorlist, .messagelist .error")
    return errors.all_inner_texts() if errors.count() else []


def submit(page: Any, button: str, *, lands_on: str) -> None:
    """Click ``button``, wait for the answer, and assert it is the page ``lands_on`` (a URL
    glob); a form answered again with its errors fails with the errors' text, and an answer
    elsewhere fails with the page it landed on."""
    with page.expect_navigation(timeout=SUBMIT_TIMEOUT_MS):
        page.click(button)
    page.wait_for_load_state("load", timeout=SUBMIT_TIMEOUT_MS)
    if errors := refusal(page):
        raise AssertionError(f"the form was refused: {errors}")
    if not fnmatch.fnmatch(page.url.split("?")[0], lands_on):
        raise AssertionError(f"the form's answer is not {lands_on}: {where(page)}")
