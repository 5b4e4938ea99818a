"""The demo data set's calendar and data tables: parties, sources, places, names."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from cases.choices import (
    Channel,
    PartyKind,
)
from cases.services import Actor, NameSpec

#: The actor stamped on every generated event.
ACTOR = Actor(user=None, channel=Channel.COMMAND, label="seed_demo")

#: The conflict's first day; nothing generated happens earlier.
WAR_START = dt.date(2022, 2, 24)
#: The last possible capture date.
LAST_CAPTURE = dt.date(2026, 8, 31)
#: The data set's "today": nothing generated happens later.
AS_OF = dt.date(2026, 9, 30)
#: When the reference data (parties) was entered.
REFERENCE_DATA_AT = dt.datetime(2022, 2, 24, 9, 0, tzinfo=dt.UTC)

#: Demo references have a serial of six or more digits starting with 9 (UA-2025-900001), so
#: they never collide with hand-entered or seed cases (UA-2025-0001).
DEMO_REFERENCE_REGEX = r"^[A-Z]{2}-[0-9]{4}-9[0-9]{5,}$"
DEMO_REFERENCE = re.compile(DEMO_REFERENCE_REGEX)

#: Number of sources in the shared pool; fixed so that the first N cases of a seed do not
#: depend on how many cases are generated.
SOURCE_POOL_SIZE = 400


# --------------------------------------------------------------------------------------------
# The world: parties, places, names
# --------------------------------------------------------------------------------------------

PARTIES = [
    # key, name, short name, kind, country, parent key
    ("ua", "Ukraine", "Ukraine", PartyKind.STATE, "UA", None),
    ("ua_sbu", "Security Service of Ukraine", "SBU", PartyKind.AGENCY, "UA", "ua"),
    (
        "ua_hq",
        "Coordination Headquarters for the Treatment of Prisoners of War",
        "Coordination HQ",
        PartyKind.AGENCY,
        "UA",
        "ua",
    ),
    ("ua_afu", "Armed Forces of Ukraine", "AFU", PartyKind.ARMED_FORCE, "UA", "ua"),
    ("ua_ngu", "National Guard of Ukraine", "NGU", PartyKind.ARMED_FORCE, "UA", "ua"),
    ("ua_migration", "State Migration Service of Ukraine", "SMS", PartyKind.AGENCY, "UA", "ua"),
    ("ru", "Russian Federation", "Russia", PartyKind.STATE, "RU", None),
    (
        "ru_fsb",
        "Federal Security Service of the Russian Federation",
        "FSB",
        PartyKind.AGENCY,
        "RU",
        "ru",
    ),
    (
        "ru_mod",
        "Ministry of Defence of the Russian Federation",
        "Russian MoD",
        PartyKind.AGENCY,
        "RU",
        "ru",
    ),
    (
        "ru_af",
        "Armed Forces of the Russian Federation",
        "RF Armed Forces",
        PartyKind.ARMED_FORCE,
        "RU",
        "ru",
    ),
    ("kp", "Democratic People's Republic of Korea", "DPRK", PartyKind.STATE, "KP", None),
    ("kp_kpa", "Korean People's Army", "KPA", PartyKind.ARMED_FORCE, "KP", "kp"),
    ("kr", "Republic of Korea", "South Korea", PartyKind.STATE, "KR", None),
    (
        "kr_mofa",
        "Ministry of Foreign Affairs of the Republic of Korea",
        "MOFA",
        PartyKind.AGENCY,
        "KR",
        "kr",
    ),
    (
        "kr_nis",
        "National Intelligence Service of the Republic of Korea",
        "NIS",
        PartyKind.AGENCY,
        "KR",
        "kr",
    ),
    ("ae", "United Arab Emirates", "UAE", PartyKind.STATE, "AE", None),
    ("kz", "Republic of Kazakhstan", "Kazakhstan", PartyKind.STATE, "KZ", None),
    ("ge", "Georgia", "Georgia", PartyKind.STATE, "GE", None),
    ("de", "Federal Republic of Germany", "Germany", PartyKind.STATE, "DE", None),
    (
        "icrc",
        "International Committee of the Red Cross",
        "ICRC",
        PartyKind.INTERNATIONAL_ORGANISATION,
        "CH",
        None,
    ),
    (
        "hrmmu",
        "UN Human Rights Monitoring Mission in Ukraine",
        "HRMMU",
        PartyKind.INTERNATIONAL_ORGANISATION,
        "",
        None,
    ),
    ("ngo_kr", "Bridge to Freedom Legal Aid Centre", "Bridge", PartyKind.NGO, "KR", None),
    ("ngo_ua", "Home Without Fear Foundation", "HWF", PartyKind.NGO, "UA", None),
    ("media_kr", "Hangang Daily", "Hangang Daily", PartyKind.MEDIA, "KR", None),
    ("media_ua", "Dnipro Evening Courier", "Courier", PartyKind.MEDIA, "UA", None),
    ("media_ua2", "Frontline Reports Kyiv", "Frontline Reports", PartyKind.MEDIA, "UA", None),
    ("media_intl", "Northern Wire Service", "NWS", PartyKind.MEDIA, "GB", None),
    ("media_ru", "Baltic Independent Radio", "BIR", PartyKind.MEDIA, "LV", None),
    (
        "leg_kr",
        "Kang Min-seo, member of the National Assembly",
        "Kang Min-seo",
        PartyKind.LEGISLATOR,
        "KR",
        None,
    ),
    (
        "leg_ua",
        "Oksana Hrytsenko, member of the Verkhovna Rada",
        "Hrytsenko",
        PartyKind.LEGISLATOR,
        "UA",
        None,
    ),
]

PUBLISHERS = {
    # party key: (publisher label, domain, language, reliability, category)
    "media_kr": ("Hangang Daily", "hangang-daily.example", "ko", "B", "media"),
    "media_ua": ("Dnipro Evening Courier", "courier.example.org", "uk", "C", "media"),
    "media_ua2": ("Frontline Reports Kyiv", "frontline.example.org", "en", "B", "media"),
    "media_intl": ("Northern Wire Service", "nws.example.com", "en", "B", "media"),
    "media_ru": ("Baltic Independent Radio", "bir.example.net", "ru", "C", "media"),
    "ua_sbu": ("Security Service of Ukraine", "sbu.example.org", "uk", "C", "official_ua"),
    "ua_hq": ("Coordination Headquarters", "koordynatsiinyi.example.org", "uk", "B", "exchange"),
    "ru_mod": ("Russian Ministry of Defence", "mil.example.ru", "ru", "D", "official_ru"),
    "kr_mofa": ("Ministry of Foreign Affairs (ROK)", "mofa.example.kr", "ko", "B", "official_kr"),
    "icrc": ("International Committee of the Red Cross", "icrc.example.org", "en", "A", "icrc"),
}

SOURCE_TITLES = {
    "media": [
        "Captured soldiers describe their first weeks in custody",
        "Prisoners of war speak about the front line",
        "Interviews with prisoners held near {region}",
        "What captured soldiers say about going home",
        "Families search for soldiers missing near {region}",
        "Captured North Korean soldiers say they want to go to South Korea",
        "Prisoners who do not want to go back",
    ],
    "official_ua": [
        "Interrogation videos of captured servicemen, {region} direction",
        "Statement on servicemen captured near {region}",
    ],
    "official_ru": [
        "Statement on Ukrainian servicemen who laid down arms near {region}",
        "Briefing on the situation in the {region} direction",
    ],
    "official_kr": [
        "Position on North Korean soldiers held in Ukraine",
        "Briefing on the protection of North Korean prisoners of war",
    ],
    "exchange": [
        "Prisoner exchange: defenders return home",
        "Exchange of prisoners mediated by the United Arab Emirates",
        "Bodies and prisoners exchanged; lists for the next round",
    ],
    "icrc": [
        "ICRC visits prisoners of war held in connection with the armed conflict",
        "ICRC acts as neutral intermediary in the release of prisoners",
    ],
}

REGIONS = ["Kursk", "Donetsk", "Kharkiv", "Zaporizhzhia", "Kherson", "Luhansk", "Belgorod"]


@dataclass(frozen=True)
class Place:
    """A place of capture, its ISO 3166-2 code, and when fighting made captures plausible."""

    name: str
    code: str
    start: dt.date
    end: dt.date
    cohorts: frozenset[str]


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


_BOTH = frozenset({"ru_in_ua", "ua_in_ru"})
_ALL = frozenset({"ru_in_ua", "ua_in_ru", "kp_in_ua"})
PLACES = [
    Place("Hostomel, Kyiv oblast", "UA-32", _d("2022-02-24"), _d("2022-04-02"), _BOTH),
    Place("Bucha district, Kyiv oblast", "UA-32", _d("2022-02-27"), _d("2022-03-31"), _BOTH),
    Place("Chernihiv oblast", "UA-74", _d("2022-02-24"), _d("2022-04-04"), _BOTH),
    Place("Mariupol (Azovstal)", "UA-14", _d("2022-03-01"), _d("2022-05-20"), _BOTH),
    Place("Izium, Kharkiv oblast", "UA-63", _d("2022-04-01"), _d("2022-09-15"), _BOTH),
    Place("Kupiansk, Kharkiv oblast", "UA-63", _d("2022-09-01"), _d("2026-08-31"), _BOTH),
    Place("Vovchansk, Kharkiv oblast", "UA-63", _d("2024-05-10"), _d("2026-08-31"), _BOTH),
    Place("Sievierodonetsk, Luhansk oblast", "UA-09", _d("2022-05-01"), _d("2022-06-25"), _BOTH),
    Place("Kreminna, Luhansk oblast", "UA-09", _d("2022-10-01"), _d("2025-12-31"), _BOTH),
    Place("Kherson", "UA-65", _d("2022-03-01"), _d("2022-11-11"), _BOTH),
    Place("Krynky, Kherson oblast", "UA-65", _d("2023-10-15"), _d("2024-07-31"), _BOTH),
    Place("Dnipro islands, Kherson oblast", "UA-65", _d("2022-11-12"), _d("2026-08-31"), _BOTH),
    Place("Kinburn Spit, Mykolaiv oblast", "UA-48", _d("2022-03-01"), _d("2023-12-31"), _BOTH),
    Place("Bakhmut, Donetsk oblast", "UA-14", _d("2022-08-01"), _d("2023-05-31"), _BOTH),
    Place("Vuhledar, Donetsk oblast", "UA-14", _d("2022-11-01"), _d("2024-10-01"), _BOTH),
    Place("Avdiivka, Donetsk oblast", "UA-14", _d("2023-10-01"), _d("2024-02-20"), _BOTH),
    Place("Chasiv Yar, Donetsk oblast", "UA-14", _d("2023-06-01"), _d("2026-08-31"), _BOTH),
    Place("Toretsk, Donetsk oblast", "UA-14", _d("2024-06-01"), _d("2026-03-31"), _BOTH),
    Place("Pokrovsk, Donetsk oblast", "UA-14", _d("2024-07-01"), _d("2026-08-31"), _BOTH),
    Place("Robotyne, Zaporizhzhia oblast", "UA-23", _d("2023-06-04"), _d("2024-12-31"), _BOTH),
    Place("Huliaipole, Zaporizhzhia oblast", "UA-23", _d("2022-03-01"), _d("2026-08-31"), _BOTH),
    Place("Sumy border area", "UA-59", _d("2025-05-01"), _d("2026-08-31"), _BOTH),
    Place("Sudzha, Kursk region", "RU-KRS", _d("2024-08-06"), _d("2025-03-15"), _BOTH),
    Place("Korenevo district, Kursk region", "RU-KRS", _d("2024-08-10"), _d("2025-04-26"), _ALL),
    Place("Malaya Loknya, Kursk region", "RU-KRS", _d("2024-08-15"), _d("2025-03-12"), _ALL),
    Place("Glushkovo district, Kursk region", "RU-KRS", _d("2024-09-01"), _d("2025-04-26"), _ALL),
    Place(
        "Shebekino district, Belgorod region", "RU-BEL", _d("2023-05-20"), _d("2024-06-30"), _BOTH
    ),
    Place(
        "Grayvoron district, Belgorod region", "RU-BEL", _d("2023-05-22"), _d("2025-06-30"), _BOTH
    ),
]
NK_WINDOW = (_d("2024-12-10"), _d("2025-04-26"))

DETENTION = {
    "UA": [
        "Prisoner-of-war camp, Lviv oblast",
        "SBU pre-trial detention centre, Kyiv",
        "Pre-trial detention centre, Dnipro",
        "Pre-trial detention centre, Zaporizhzhia",
        "Pre-trial detention centre, Kharkiv",
    ],
    "RU": [
        "Pre-trial detention centre No. 2, Taganrog",
        "Penal colony No. 10, Mordovia",
        "Pre-trial detention centre No. 1, Kursk",
        "Pre-trial detention centre No. 1, Bryansk",
        "Pre-trial detention centre No. 1, Rostov-on-Don",
        "Penal colony, Olenivka",
    ],
}
HOSPITALS = {"UA": "Military hospital, Kyiv", "RU": "Military hospital, Rostov-on-Don"}

# Korean names: (North Korean Hangul, South Korean Hangul, Revised, McCune-Reischauer,
# North Korean official, press spellings).
KO_SURNAMES = [
    ("김", "김", "Gim", "Kim", "Kim", ["Kim"]),
    ("리", "이", "Ri", "Ri", "Ri", ["Lee", "Yi", "Rhee"]),
    ("박", "박", "Bak", "Pak", "Pak", ["Park"]),
    ("최", "최", "Choe", "Ch'oe", "Choe", ["Choi"]),
    ("백", "백", "Baek", "Paek", "Paek", ["Paik", "Baek"]),
    ("정", "정", "Jeong", "Chŏng", "Jong", ["Jung", "Chung"]),
    ("조", "조", "Jo", "Cho", "Jo", ["Cho"]),
    ("강", "강", "Gang", "Kang", "Kang", ["Kang"]),
    ("윤", "윤", "Yun", "Yun", "Yun", ["Yoon"]),
    ("한", "한", "Han", "Han", "Han", ["Han"]),
    ("림", "임", "Rim", "Rim", "Rim", ["Lim", "Im"]),
    ("류", "유", "Ryu", "Ryu", "Ryu", ["Yoo", "Yu"]),
    ("장", "장", "Jang", "Chang", "Jang", ["Chang"]),
    ("오", "오", "O", "O", "O", ["Oh"]),
    ("신", "신", "Sin", "Sin", "Sin", ["Shin"]),
    ("황", "황", "Hwang", "Hwang", "Hwang", ["Hwang"]),
    ("안", "안", "An", "An", "An", ["Ahn"]),
    ("전", "전", "Jeon", "Chŏn", "Jon", ["Jun", "Chun"]),
    ("홍", "홍", "Hong", "Hong", "Hong", ["Hong"]),
    ("로", "노", "Ro", "Ro", "Ro", ["Roh", "Noh"]),
]
# (Hangul, Revised, McCune-Reischauer, North Korean official, press)
KO_GIVEN = [
    ("영호", "Yeong-ho", "Yŏng-ho", "Yong Ho", "Young-ho"),
    ("철수", "Cheol-su", "Ch'ŏl-su", "Chol Su", "Chul-soo"),
    ("성민", "Seong-min", "Sŏng-min", "Song Min", "Sung-min"),
    ("광철", "Gwang-cheol", "Kwang-ch'ŏl", "Kwang Chol", "Kwang-chul"),
    ("명철", "Myeong-cheol", "Myŏng-ch'ŏl", "Myong Chol", "Myung-chul"),
    ("혁", "Hyeok", "Hyŏk", "Hyok", "Hyuk"),
    ("정남", "Jeong-nam", "Chŏng-nam", "Jong Nam", "Jung-nam"),
    ("국진", "Guk-jin", "Kuk-chin", "Kuk Jin", "Kook-jin"),
    ("용수", "Yong-su", "Yong-su", "Yong Su", "Yong-soo"),
    ("진혁", "Jin-hyeok", "Chin-hyŏk", "Jin Hyok", "Jin-hyuk"),
    ("현철", "Hyeon-cheol", "Hyŏn-ch'ŏl", "Hyon Chol", "Hyun-chul"),
    ("동현", "Dong-hyeon", "Tong-hyŏn", "Tong Hyon", "Dong-hyun"),
    ("준호", "Jun-ho", "Chun-ho", "Jun Ho", "Joon-ho"),
    ("경일", "Gyeong-il", "Kyŏng-il", "Kyong Il", "Kyung-il"),
    ("남철", "Nam-cheol", "Nam-ch'ŏl", "Nam Chol", "Nam-chul"),
    ("주혁", "Ju-hyeok", "Chu-hyŏk", "Ju Hyok", "Joo-hyuk"),
    ("충성", "Chung-seong", "Ch'ung-sŏng", "Chung Song", "Chung-sung"),
    ("학철", "Hak-cheol", "Hak-ch'ŏl", "Hak Chol", "Hak-chul"),
    ("원준", "Won-jun", "Wŏn-jun", "Won Jun", "Won-joon"),
    ("태성", "Tae-seong", "T'ae-sŏng", "Thae Song", "Tae-sung"),
    ("금철", "Geum-cheol", "Kŭm-ch'ŏl", "Kum Chol", "Keum-chul"),
    ("은철", "Eun-cheol", "Ŭn-ch'ŏl", "Un Chol", "Eun-chul"),
    ("일남", "Il-nam", "Il-nam", "Il Nam", "Il-nam"),
    ("송철", "Song-cheol", "Song-ch'ŏl", "Song Chol", "Song-chul"),
    ("명호", "Myeong-ho", "Myŏng-ho", "Myong Ho", "Myung-ho"),
]
# Names from the forged Russian military IDs some Korean soldiers carried (Tuvan names).
TUVAN_SURNAMES = ["Монгуш", "Ооржак", "Кужугет", "Ондар", "Донгак", "Салчак", "Куулар", "Сат"]
TUVAN_GIVEN = ["Буян", "Аяс", "Чойган", "Алдар", "Начын", "Эрес", "Айдын", "Маадыр"]

RU_SURNAMES = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Воробьёв",
    "Сергеев",
    "Кузьмин",
    "Фролов",
    "Дмитриев",
    "Королёв",
    "Гусев",
    "Киселёв",
    "Ильин",
    "Максимов",
    "Поляков",
    "Сорокин",
    "Виноградов",
    "Ковалёв",
    "Белов",
    "Медведев",
    "Антонов",
    "Тарасов",
    "Жуков",
    "Баранов",
    "Филиппов",
    "Комаров",
    "Давыдов",
    "Беляев",
    "Герасимов",
    "Богданов",
    "Осипов",
    "Сидоров",
    "Матвеев",
    "Титов",
    "Марков",
    "Миронов",
    "Крылов",
    "Куликов",
    "Карпов",
    "Власов",
    "Мельников",
    "Денисов",
    "Гаврилов",
    "Тихонов",
    "Казаков",
    "Афанасьев",
    "Данилов",
]
RU_GIVEN = [
    ("Александр", "Александрович"),
    ("Сергей", "Сергеевич"),
    ("Дмитрий", "Дмитриевич"),
    ("Андрей", "Андреевич"),
    ("Алексей", "Алексеевич"),
    ("Максим", "Максимович"),
    ("Евгений", "Евгеньевич"),
    ("Иван", "Иванович"),
    ("Михаил", "Михайлович"),
    ("Артём", "Артёмович"),
    ("Николай", "Николаевич"),
    ("Владимир", "Владимирович"),
    ("Денис", "Денисович"),
    ("Павел", "Павлович"),
    ("Роман", "Романович"),
    ("Игорь", "Игоревич"),
    ("Олег", "Олегович"),
    ("Виктор", "Викторович"),
    ("Юрий", "Юрьевич"),
    ("Кирилл", "Кириллович"),
    ("Антон", "Антонович"),
    ("Вадим", "Вадимович"),
    ("Константин", "Константинович"),
    ("Виталий", "Витальевич"),
    ("Руслан", "Русланович"),
    ("Григорий", "Григорьевич"),
    ("Егор", "Егорович"),
]
UK_SURNAMES = [
    "Шевченко",
    "Коваленко",
    "Бондаренко",
    "Ткаченко",
    "Кравченко",
    "Олійник",
    "Шевчук",
    "Поліщук",
    "Коваль",
    "Бондар",
    "Ткачук",
    "Мельник",
    "Бойко",
    "Савченко",
    "Руденко",
    "Петренко",
    "Марченко",
    "Лисенко",
    "Клименко",
    "Павленко",
    "Кузьменко",
    "Мороз",
    "Левченко",
    "Гончаренко",
    "Харченко",
    "Мартинюк",
    "Білик",
    "Приходько",
    "Кравчук",
    "Романенко",
    "Панченко",
    "Мазур",
    "Литвиненко",
    "Карпенко",
    "Гуменюк",
    "Зінченко",
    "Ковальчук",
    "Сидоренко",
    "Федоренко",
    "Яковенко",
    "Гребенюк",
    "Остапчук",
    "Тарасенко",
    "Гаврилюк",
    "Кушнір",
    "Демченко",
    "Яремчук",
    "Ярошенко",
    "Вовк",
    "Згурський",
]
UK_GIVEN = [
    ("Олександр", "Олександрович"),
    ("Андрій", "Андрійович"),
    ("Сергій", "Сергійович"),
    ("Дмитро", "Дмитрович"),
    ("Віталій", "Віталійович"),
    ("Юрій", "Юрійович"),
    ("Олег", "Олегович"),
    ("Максим", "Максимович"),
    ("Іван", "Іванович"),
    ("Василь", "Васильович"),
    ("Михайло", "Михайлович"),
    ("Богдан", "Богданович"),
    ("Володимир", "Володимирович"),
    ("Тарас", "Тарасович"),
    ("Ярослав", "Ярославович"),
    ("Микола", "Миколайович"),
    ("Петро", "Петрович"),
    ("Роман", "Романович"),
    ("Віктор", "Вікторович"),
    ("Артем", "Артемович"),
    ("Євген", "Євгенович"),
    ("Ігор", "Ігорович"),
    ("Павло", "Павлович"),
    ("Остап", "Остапович"),
    ("Назар", "Назарович"),
    ("Степан", "Степанович"),
]
UK_GIVEN_FEMALE = ["Олена", "Юлія", "Марія", "Анна", "Ірина", "Оксана", "Тетяна", "Вікторія"]
CALL_SIGNS = {
    "ru": ["Гром", "Ветер", "Тайга", "Кедр", "Шторм", "Сокол", "Малой", "Док", "Север", "Шаман"],
    "uk": ["Сокіл", "Грім", "Козак", "Лелека", "Мольфар", "Тихий", "Ранок", "Чорний", "Вовк"],
}

_RU_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "ë", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "ʺ", "ы": "y", "ь": "ʹ", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
_UK_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh",
    "з": "z", "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n",
    "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ь": "", "ю": "iu", "я": "ia", "'": "",
}  # fmt: skip
_UK_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
_RU_VOWELS = set("аеёиоуыэюяъь")


def _case_like(source: str, text: str) -> str:
    return text[:1].upper() + text[1:] if source[:1].isupper() else text


def translit_ru_bgn(word: str) -> str:
    """Return ``word`` (Russian Cyrillic) in BGN/PCGN romanisation."""
    out = []
    for i, char in enumerate(word):
        low = char.lower()
        if low in "её" and (i == 0 or word[i - 1].lower() in _RU_VOWELS | {"й"}):
            latin = "y" + _RU_TRANSLIT[low]
        else:
            latin = _RU_TRANSLIT.get(low, low)
        out.append(_case_like(char, latin))
    return "".join(out)


def translit_ru_press(word: str) -> str:
    """Return ``word`` (Russian Cyrillic) as the English-language press tends to spell it."""
    text = translit_ru_bgn(word).replace("ʹ", "").replace("ʺ", "")
    text = text.replace("Yë", "Yo").replace("yë", "yo").replace("ë", "yo")
    for ending, simple in (("iy", "y"), ("ey", "ei"), ("ay", "ai")):
        if text.endswith(ending):
            text = text[: -len(ending)] + simple
    return text


def translit_uk_national(word: str) -> str:
    """Return ``word`` (Ukrainian Cyrillic) in Ukraine's national romanisation (2010)."""
    out = []
    for i, char in enumerate(word):
        low = char.lower()
        if i == 0 and low in _UK_INITIAL:
            latin = _UK_INITIAL[low]
        elif low == "г" and i > 0 and word[i - 1].lower() == "з":
            latin = "gh"  # зг is written zgh, to tell it from ж (zh)
        else:
            latin = _UK_TRANSLIT.get(low, low)
        out.append(_case_like(char, latin))
    return "".join(out)


def translit_uk_bgn(word: str) -> str:
    """Return ``word`` (Ukrainian Cyrillic) in BGN/PCGN romanisation."""
    out = []
    for char in word:
        low = char.lower()
        latin = {"й": "y", "ї": "yi", "є": "ye", "ю": "yu", "я": "ya", "ь": "ʹ"}.get(low)
        if latin is None:
            latin = _UK_TRANSLIT.get(low, low)
        out.append(_case_like(char, latin))
    return "".join(out)


def dedupe_names(names: list[NameSpec]) -> list[NameSpec]:
    seen: set[str] = set()
    kept = []
    for spec in names:
        if spec.value not in seen:
            seen.add(spec.value)
            kept.append(spec)
    return kept
