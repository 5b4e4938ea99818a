"""A generated exchange list, reproducible from a seed: for demos, tests and the benchmark.

Each person has a working name (a pseudonym, "POW 000123"); his true names come in three
scripts (Korean soldiers in Hangul with their romanisation, Russian and
Ukrainian soldiers in Cyrillic with a transliteration), and the list has the defects real
lists have: the same person listed twice, dates that do not exist, partial dates, blank
lines, and persons listed without an ICRC number.
"""

from __future__ import annotations

import csv
import io
import random

import cyrtranslit
from korean_romanizer.romanizer import Romanizer

#: The headers of the generated list, and the fields they map to.
COLUMNS = {
    "No.": "",
    "ICRC No": "icrc_number",
    "Working name": "working_name",
    "Name (Latin)": "name_latin",
    "Name (Hangul)": "name_hangul",
    "Name (Cyrillic)": "name_cyrillic",
    "Sex": "sex",
    "Date of birth": "birth_date",
    "Place of birth": "birth_place",
    "Rank": "rank",
    "Unit": "unit",
    "Nationality": "nationality",
}

_KOREAN_SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
_KOREAN_SYLLABLES = "민준서영지훈현우성진철수호혁광명일남석용원국동"
_RUSSIAN_SURNAMES = [
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
    "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
]  # fmt: skip
_RUSSIAN_GIVEN = [
    "Александр", "Сергей", "Дмитрий", "Андрей", "Алексей", "Максим", "Евгений", "Иван",
    "Михаил", "Артём", "Никита", "Павел", "Роман", "Олег", "Юрий", "Денис",
]  # fmt: skip
_KOREAN_PLACES = ["Pyongyang", "Hamhung", "Chongjin", "Sinuiju", "Wonsan", "Kaesong"]
_RUSSIAN_PLACES = ["Kursk", "Belgorod", "Voronezh", "Rostov-on-Don", "Bryansk", "Tula"]
_KOREAN_RANKS = ["Private", "Corporal", "Sergeant", "Junior Lieutenant"]
_RUSSIAN_RANKS = ["Ryadovoy", "Yefreytor", "Serzhant", "Leytenant"]


def _korean(rng: random.Random) -> tuple[str, str]:
    hangul = rng.choice(_KOREAN_SURNAMES) + "".join(rng.choices(_KOREAN_SYLLABLES, k=2))
    surname, given = Romanizer(hangul[0]).romanize(), Romanizer(hangul[1:]).romanize()
    return hangul, f"{surname.title()} {given.title()}"


def _russian(rng: random.Random) -> tuple[str, str]:
    cyrillic = f"{rng.choice(_RUSSIAN_SURNAMES)} {rng.choice(_RUSSIAN_GIVEN)}"
    return cyrillic, cyrtranslit.to_latin(cyrillic, "ru")


def _birth_date(rng: random.Random) -> str:
    year, month, day = rng.randint(1975, 2006), rng.randint(1, 12), rng.randint(1, 28)
    shape = rng.random()
    if shape < 0.6:
        return f"{year}-{month:02d}-{day:02d}"
    if shape < 0.8:
        return f"{day:02d}.{month:02d}.{year}"
    if shape < 0.9:
        return f"{month:02d}.{year}"
    if shape < 0.95:
        return str(year)
    return ""


def exchange_list(rows: int, *, seed: int = 1, icrc_prefix: str = "CTA-X") -> bytes:
    """Return a CSV exchange list of about ``rows`` data rows (UTF-8 with a BOM).

    About 2% of the rows repeat an earlier row, 2% carry a date that does not exist, 2% are
    blank lines and 3% have no ICRC number; the rest are distinct persons.
    """
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(COLUMNS))
    written: list[list[str]] = []
    for number in range(1, rows + 1):
        roll = rng.random()
        if roll < 0.02 and written:
            row = list(rng.choice(written))
            row[0] = str(number)
            writer.writerow(row)
            continue
        if roll < 0.04:
            writer.writerow([""] * len(COLUMNS))
            continue
        korean = rng.random() < 0.5
        original, latin = _korean(rng) if korean else _russian(rng)
        birth = _birth_date(rng)
        if 0.04 <= roll < 0.06:
            birth = rng.choice(["31.02.1999", "1999-13-01", "19xx", "tomorrow"])
        icrc = "" if 0.06 <= roll < 0.09 else f"{icrc_prefix}-{number:06d}"
        row = [
            str(number),
            icrc,
            # A pseudonym: the names in the list are true names, never shown as one.
            f"POW {number:06d}",
            latin,
            original if korean else "",
            "" if korean else original,
            rng.choice(["M", "M", "M", "F"]),
            birth,
            rng.choice(_KOREAN_PLACES if korean else _RUSSIAN_PLACES),
            rng.choice(_KOREAN_RANKS if korean else _RUSSIAN_RANKS),
            f"{rng.randint(1, 120)}th {'Brigade' if korean else 'Regiment'}",
            "KP" if korean else "RU",
        ]
        written.append(row)
        writer.writerow(row)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
