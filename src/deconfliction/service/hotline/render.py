"""Rendering a message in its reader's language (gettext catalogues, Babel formatting).

Catalogues are ``deconfliction/locale/<lang>/LC_MESSAGES/hotline.po``. They are
compiled in memory when first used (Babel's ``read_po`` / ``write_mo``), so no
generated binary is kept in git and a wheel ships only the ``.po`` sources. Numbers,
dates and times are formatted with Babel for the reader's locale; times always in UTC.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from importlib import resources
from io import BytesIO
from typing import Any, Final

from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from deconfliction.geo.altitude import Datum
from deconfliction.geo.footprint import ArcSector, Circle, Corridor, Footprint, Polygon, Position, Racetrack
from deconfliction.service.hotline.fields import AltitudeValue, FieldKind, OperationRef
from deconfliction.service.hotline.model import LANGUAGES, RTL_LANGUAGES, MessageClass
from deconfliction.service.hotline.templates import FIELD_LABELS, TEMPLATES, Template

DOMAIN: Final = "hotline"
PLACEHOLDER: Final = re.compile(r"%\((\w+)\)s")


def N_(text: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    return text


CLASS_LABELS: Final[Mapping[MessageClass, str]] = {
    MessageClass.ROUTINE: N_("Routine"),
    MessageClass.PRIORITY: N_("Priority"),
    MessageClass.STOP: N_("STOP"),
}
DATUM_LABELS: Final[Mapping[Datum, str]] = {
    Datum.W84: N_("above the WGS84 ellipsoid"),
    Datum.MSL: N_("above mean sea level"),
    Datum.AGL: N_("above ground level"),
    Datum.STD: N_("pressure altitude (1013.25 hPa)"),
}
STATE_LABELS: Final[Mapping[str, str]] = {
    "sent": N_("Sent, not yet received"),
    "received": N_("Received, not yet acknowledged"),
    "acknowledged": N_("Acknowledged"),
}
TIME_UTC: Final = N_("%(time)s UTC")
ALT_FL: Final = N_("FL%(lower)s to FL%(upper)s")
ALT_FT: Final = N_("%(lower)s to %(upper)s ft %(datum)s")
ALT_M: Final = N_("%(lower)s to %(upper)s m %(datum)s")
LAT_N: Final = N_("%(degrees)s° N")
LAT_S: Final = N_("%(degrees)s° S")
LON_E: Final = N_("%(degrees)s° E")
LON_W: Final = N_("%(degrees)s° W")
LAT_LON: Final = N_("%(lat)s, %(lon)s")
OPERATION_VERSION: Final = N_("%(party)s/%(operation)s, version %(version)s")
CIRCLE: Final = N_("circle of radius %(radius)s km centred at %(centre)s")
POLYGON: Final = N_("polygon of %(count)s vertices, the first at %(first)s")
CORRIDOR: Final = N_("corridor %(width)s km wide from %(first)s to %(last)s")
RACETRACK: Final = N_("racetrack %(width)s km wide between %(a)s and %(b)s")
ARC_SECTOR: Final = N_(
    "arc sector %(inner)s to %(outer)s km from %(centre)s, bearings %(start)s° to %(end)s°"
)
ANNEX_LABEL: Final = N_("Free-text annex (not translated)")


def catalogue_ids() -> Iterator[str]:
    """Every msgid this module may look up: each must be in every catalogue."""
    for tpl in TEMPLATES.values():
        yield tpl.title
        yield tpl.summary
        for spec in tpl.fields:
            yield from (label for _, label in spec.choices)
    yield from FIELD_LABELS.values()
    yield from CLASS_LABELS.values()
    yield from DATUM_LABELS.values()
    yield from STATE_LABELS.values()
    yield from (
        TIME_UTC, ALT_FL, ALT_FT, ALT_M, LAT_N, LAT_S, LON_E, LON_W, LAT_LON, OPERATION_VERSION,
        CIRCLE, POLYGON, CORRIDOR, RACETRACK, ARC_SECTOR, ANNEX_LABEL,
    )  # fmt: skip


def catalogue_path(language: str) -> Any:
    return resources.files("deconfliction").joinpath("locale", language, "LC_MESSAGES", f"{DOMAIN}.po")


@functools.cache
def translations(language: str) -> Translations:
    """The compiled catalogue of ``language`` (one of :data:`LANGUAGES`)."""
    with catalogue_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def negotiate(accept_language: str | None, fallback: str) -> str:
    """The first supported language named in an Accept-Language header, else ``fallback``."""
    if accept_language:
        ranked = []
        for n, part in enumerate(accept_language.split(",")):
            tag, _, params = part.strip().partition(";")
            q = 1.0
            if params.strip().startswith("q="):
                try:
                    q = float(params.strip()[2:])
                except ValueError:
                    q = 0.0
            ranked.append((-q, n, tag.strip().lower().split("-")[0]))
        for q, _, tag in sorted(ranked):
            if q < 0 and tag in LANGUAGES:
                return tag
    return fallback if fallback in LANGUAGES else "en"


class Renderer:
    """Formats values and looks up strings for one language."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "en"
        self._t = translations(self.language)

    def _(self, msgid: str, **values: object) -> str:
        text: str = self._t.gettext(msgid)
        return text % values if values else text

    def number(self, value: float, pattern: str = "#,##0.###") -> str:
        return str(format_decimal(value, format=pattern, locale=self.language))

    def time(self, value: datetime) -> str:
        day = format_date(value.astimezone(UTC), "medium", locale=self.language)
        clock = format_time(value, "HH:mm:ss", tzinfo=UTC, locale=self.language)
        return self._(TIME_UTC, time=f"{day} {clock}")

    def position(self, p: Position) -> str:
        lat = self._(LAT_N if p.lat_deg >= 0 else LAT_S, degrees=self.number(abs(p.lat_deg), "0.0000"))
        lon = self._(LON_E if p.lon_deg >= 0 else LON_W, degrees=self.number(abs(p.lon_deg), "0.0000"))
        return self._(LAT_LON, lat=lat, lon=lon)

    def altitude(self, a: AltitudeValue) -> str:
        if a.units == "FL":
            return self._(ALT_FL, lower=self.number(a.lower, "000"), upper=self.number(a.upper, "000"))
        msgid = ALT_FT if a.units == "ft" else ALT_M
        datum = self._(DATUM_LABELS[a.band.datum])
        return self._(msgid, lower=self.number(a.lower), upper=self.number(a.upper), datum=datum)

    def km(self, metres: float) -> str:
        return self.number(metres / 1000.0, "#,##0.##")

    def area(self, f: Footprint) -> str:
        match f:
            case Circle(center_position=c, radius_m=r):
                return self._(CIRCLE, radius=self.km(r), centre=self.position(c))
            case Polygon(vertices=vs):
                return self._(POLYGON, count=self.number(len(vs)), first=self.position(vs[0]))
            case Corridor(centreline=line, width_m=w):
                return self._(
                    CORRIDOR, width=self.km(w), first=self.position(line[0]), last=self.position(line[-1])
                )
            case Racetrack(a=a, b=b, width_m=w):
                return self._(RACETRACK, width=self.km(w), a=self.position(a), b=self.position(b))
            case ArcSector():
                return self._(
                    ARC_SECTOR,
                    inner=self.km(f.inner_radius_m),
                    outer=self.km(f.outer_radius_m),
                    centre=self.position(f.center_position),
                    start=self.number(f.start_bearing_deg, "0.#"),
                    end=self.number(f.end_bearing_deg, "0.#"),
                )
        raise TypeError(f"not a footprint: {f!r}")

    def value(self, kind: FieldKind, value: Any, choices: tuple[tuple[str, str], ...]) -> str:
        if kind is FieldKind.TIME:
            return self.time(value)
        if kind is FieldKind.ALTITUDE:
            return self.altitude(value)
        if kind is FieldKind.POSITION:
            return self.position(value)
        if kind is FieldKind.AREA:
            return self.area(value)
        if kind is FieldKind.OPERATION:
            ref: OperationRef = value
            if ref.version is None:
                return f"{ref.party}/{ref.operation_id}"
            return self._(OPERATION_VERSION, party=ref.party, operation=ref.operation_id, version=ref.version)
        if kind is FieldKind.CHOICE:
            return self._(dict(choices)[value])
        return str(value)

    def message(
        self, tpl: Template, sender: str, cls: MessageClass, state: str, values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The reader's view of a message: class, title, summary and one line per field."""
        shown = {spec.name: self.value(spec.kind, values[spec.name], spec.choices)
                 for spec in tpl.fields if spec.name in values}  # fmt: skip
        required = {s.name: shown[s.name] for s in tpl.fields if s.required}
        return {
            "language": self.language,
            "direction": "rtl" if self.language in RTL_LANGUAGES else "ltr",
            "class": self._(CLASS_LABELS[cls]),
            "title": self._(tpl.title),
            "summary": self._(tpl.summary, sender=sender, **required),
            "state": self._(STATE_LABELS[state]),
            "fields": [
                {"name": name, "label": self._(FIELD_LABELS[name]), "value": text}
                for name, text in shown.items()
            ],
            "annex_label": self._(ANNEX_LABEL),
        }
