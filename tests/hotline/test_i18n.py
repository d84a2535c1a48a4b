"""Catalogues and rendering: every string translated in every language, placeholders kept."""

from __future__ import annotations

import re
from typing import Any

import pytest
from babel.messages.pofile import read_po
from hotlinehelpers import NOTIFY_FIELDS, STOP_FIELDS, T0, make_service

from deconfliction.interop.hotline import read_area
from deconfliction.service.clock import ManualClock
from deconfliction.service.hotline import LANGUAGES, TEMPLATES, MessageClass
from deconfliction.service.hotline.render import (
    PLACEHOLDER,
    Renderer,
    catalogue_ids,
    catalogue_path,
    negotiate,
)
from deconfliction.service.hotline.templates import FIELD_LABELS, parse_fields
from deconfliction.store import Store

CYRILLIC = re.compile(r"[\u0400-\u04FF]")
ARABIC = re.compile(r"[\u0600-\u06FF]")


def _catalogue(language: str) -> Any:
    with catalogue_path(language).open("rb") as po:
        return read_po(po, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated_with_the_same_placeholders(language: str) -> None:
    catalogue = _catalogue(language)
    wanted = set(catalogue_ids())
    found = {m.id for m in catalogue if m.id}
    assert wanted - found == set(), "missing from the catalogue"
    assert found - wanted == set(), "stale entries nobody looks up"
    for message in catalogue:
        if not message.id:
            continue
        assert message.string, f"{language}: {message.id!r} is untranslated"
        assert not message.fuzzy, f"{language}: {message.id!r} is fuzzy"
        assert sorted(PLACEHOLDER.findall(message.string)) == sorted(PLACEHOLDER.findall(message.id)), (
            message.id
        )
        words = re.search(r"[a-z]{4}", PLACEHOLDER.sub("", message.id))  # text, not just symbols
        if language == "ru" and words:
            assert CYRILLIC.search(message.string), f"ru: {message.id!r} is not in Russian"
        if language == "ar" and words:
            assert ARABIC.search(message.string), f"ar: {message.id!r} is not in Arabic"


def test_every_template_summary_names_only_the_sender_and_required_fields() -> None:
    for tpl in TEMPLATES.values():
        required = {f.name for f in tpl.fields if f.required}
        assert set(PLACEHOLDER.findall(tpl.summary)) <= required | {"sender"}, tpl.code
        assert all(f.name in FIELD_LABELS for f in tpl.fields), tpl.code


def test_a_stop_renders_in_each_language() -> None:
    values = parse_fields(
        TEMPLATES["STOP"], {**STOP_FIELDS, "until": "2026-11-26T06:30:00Z"}, read_area
    ).values
    en, ru, ar = (Renderer(lang).message(TEMPLATES["STOP"], "RED", MessageClass.STOP, "sent", values)
                  for lang in ("en", "ru", "ar"))  # fmt: skip
    assert (
        en["summary"]
        == "RED calls STOP: abort all activity in the stated area now. Reason: Risk of collision."
    )
    assert ru["summary"].startswith("RED объявляет СТОП")
    assert "Опасность столкновения" in ru["summary"]
    assert ar["summary"] == "يُعلن RED التوقّف: أوقفوا كل نشاط في المنطقة المحددة فوراً. السبب: خطر تصادم."
    assert (en["direction"], ru["direction"], ar["direction"]) == ("ltr", "ltr", "rtl")
    lines = {
        lang: {f["name"]: f["value"] for f in r["fields"]} for lang, r in (("en", en), ("ru", ru), ("ar", ar))
    }
    # 5 NM radius, in km with each locale's decimal separator; positions with hemispheres.
    assert lines["en"]["area"] == "circle of radius 9.26 km centred at 35.2000° N, 40.1000° E"
    assert lines["ru"]["area"] == "круг радиусом 9,26 км с центром в точке 35,2000° с. ш., 40,1000° в. д."
    assert lines["ar"]["area"] == "دائرة نصف قطرها 9.26 كم ومركزها 35.2000° شمالاً، 40.1000° شرقاً"
    assert lines["en"]["altitude"] == "FL180 to FL220"
    assert lines["ru"]["altitude"] == "от эшелона 180 до эшелона 220"
    assert lines["en"]["until"] == "Nov 26, 2026 06:30:00 UTC"
    assert lines["ru"]["until"] == "26 нояб. 2026\u202fг. 06:30:00 (UTC)"
    assert {f["label"] for f in ru["fields"]} == {"Район", "Причина", "Высота", "До"}


def test_numbers_and_other_footprints_follow_the_locale() -> None:
    corridor = {
        "geometry": {"type": "LineString", "coordinates": [[-3.5, -12.25], [-3.0, -12.0]]},
        "footprint": {"kind": "corridor", "width": {"value": 1500, "units": "m"}},
    }
    fields = {"conflict": "CX-00FF00FF", "action": "REROUTE", "area": corridor,
              "altitude": {"lower": 1500, "upper": 12500, "units": "ft", "datum": "MSL"}}  # fmt: skip
    tpl = TEMPLATES["REQUEST-DECONFLICT"]
    values = parse_fields(tpl, fields, read_area).values
    en = {
        f["name"]: f["value"]
        for f in Renderer("en").message(tpl, "B", MessageClass.ROUTINE, "sent", values)["fields"]
    }
    ru = {
        f["name"]: f["value"]
        for f in Renderer("ru").message(tpl, "B", MessageClass.ROUTINE, "sent", values)["fields"]
    }
    assert en["altitude"] == "1,500 to 12,500 ft above mean sea level"
    assert ru["altitude"] == "от 1\xa0500 до 12\xa0500 фт над средним уровнем моря"
    assert en["area"] == "corridor 1.5 km wide from 12.2500° S, 3.5000° W to 12.0000° S, 3.0000° W"
    assert ru["action"] == "Обойти район"


def test_accept_language_is_negotiated() -> None:
    assert negotiate("ru-RU,ru;q=0.9,en;q=0.5", "en") == "ru"
    assert negotiate("fr;q=1, ar;q=0.4, en;q=0.3", "ru") == "ar"
    assert negotiate("de, fr", "ru") == "ru"
    assert negotiate("ar;q=0", "en") == "en"
    assert negotiate(None, "xx") == "en"


def test_each_reader_sees_the_message_in_its_desks_language(store: Store) -> None:
    hotline = make_service(store, ManualClock(T0))
    sent = hotline.send("RED", "CIVIL", "ROUTINE", "NOTIFY", NOTIFY_FIELDS)
    assert hotline.language_of("CIVIL") == "ar"
    assert hotline.language_of("BLUE") == "ru"
    assert hotline.language_of("CIVIL", "en-GB") == "en"
    civil = hotline.view(hotline.get("CIVIL", sent.id), hotline.language_of("CIVIL"))
    red = hotline.view(hotline.get("RED", sent.id), hotline.language_of("RED"))
    assert civil["rendered"]["title"] == "إشعار بنشاط"
    assert red["rendered"]["title"] == "Notification of activity"
    assert civil["fields"] == red["fields"] == sent.fields  # the data is the same for both
