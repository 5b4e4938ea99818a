"""Every word a template writes goes through {% translate %} or {% blocktranslate %}.

The walk reads each template under ``templates/`` with Django's own lexer, keeps the text
outside template tags, variables, comments and ``blocktranslate`` blocks, removes the HTML
markup, and finds any Latin word left: that word would be English for every reader. The
attributes a reader sees (``title``, ``placeholder``, ``aria-label``, ``alt``) are read too.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.template.base import Lexer, TokenType

TEMPLATES = Path(settings.BASE_DIR) / "templates"
#: Words that are the same in every language, each with where it stands.
SAME_IN_EVERY_LANGUAGE = {
    "UTC": "the time zone of the admin timeline's recorded moments",
    "CSV": "the name of the export's file format, beside the translated word for it",
}
VISIBLE_ATTRIBUTES = re.compile(r'\b(?:title|placeholder|aria-label|alt)="([^"]*)"')
#: What stands for a tag or a variable in the text that is read.
HOLE = "\x00"


def readable_text(source: str) -> str:
    """Return ``source`` without its template tags, variables, comments and translated blocks."""
    parts: list[str] = []
    translated = commented = 0
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = (token.contents.split() or [""])[0]
            translated += {"blocktranslate": 1, "blocktrans": 1}.get(name, 0)
            translated -= {"endblocktranslate": 1, "endblocktrans": 1}.get(name, 0)
            commented += {"comment": 1, "endcomment": -1}.get(name, 0)
            parts.append(HOLE)
        elif token.token_type in (TokenType.VAR, TokenType.COMMENT):
            parts.append(HOLE)
        elif not (translated or commented):
            parts.append(token.contents)
    return "".join(parts)


def untranslated_words(source: str) -> list[str]:
    """Return the Latin words of ``source`` a reader would see untranslated."""
    text = readable_text(source)
    words = [
        word
        for value in VISIBLE_ATTRIBUTES.findall(text)
        for word in re.findall(r"[A-Za-z][A-Za-z'’]+", value)
    ]
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text)
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    words += re.findall(r"[A-Za-z][A-Za-z'’]+", text)
    return [word for word in words if word not in SAME_IN_EVERY_LANGUAGE]


def test_no_template_writes_an_untranslated_word():
    """Outside the translation tags, no template holds an English word."""
    found = {
        str(path.relative_to(TEMPLATES)): words
        for path in sorted(TEMPLATES.rglob("*.html"))
        if (words := untranslated_words(path.read_text()))
    }
    assert found == {}


def test_the_walk_finds_text_and_visible_attributes_and_passes_translated_words():
    """Text, a title and a placeholder are found; translate tags, markup and names pass."""
    source = (
        '{% load i18n %}<p class="note">Recorded</p>'
        '<span title="Kind of event">{% translate "Kind" %}</span>'
        '<input placeholder="Search {{ thing }}" value="{{ value }}">'
        "{% blocktranslate %}Page {{ number }}{% endblocktranslate %}"
        "{% comment %}Not shown{% endcomment %}{# nor this #}"
        '<a href="{% url "admin:index" %}" rel="prev">{{ label }}</a> UTC'
    )
    assert untranslated_words(source) == ["Kind", "of", "event", "Search", "Recorded"]
    assert untranslated_words("{% load i18n %}<td>{{ value }} UTC</td>") == []
