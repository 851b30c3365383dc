"""A deterministic, realistic OCPI 2.2.1 charging network for the CPO simulator.

What the network looks like
---------------------------
``build_network(locations=N, seed=S)`` builds N Locations (ids ``LOC00000000``…, in creation
order) of one CPO party (``country_code``/``party_id``, default ``DE``/``SIM``), about 3 EVSEs
each (50,000 locations ≈ 150,000 EVSEs), and a few dozen Tariffs (76) the connectors refer to.

* **Places**: 32 cities in 13 European countries, each with its ISO 3166-1 alpha-3 ``country``
  and IANA ``time_zone`` (München → DEU, Europe/Berlin; Lisboa → PRT, Europe/Lisbon; …), invented
  street addresses in the local style and postal codes in the local format and range, and
  coordinates scattered around the city centre (motorway sites 10–35 km out), written as strings
  with the operator's precision of 5, 6 or 7 decimals.
* **Sites**: street posts, supermarket car parks, parking garages, fast-charging hubs, motorway
  service areas, hotels, business parks (often unpublished, ``publish_allowed_to`` a fleet) and
  park-and-ride lots, each with fitting ``parking_type``, ``facilities``, EVSE mix and hours.
* **Operators**: seven invented operators (``operator`` BusinessDetails with name and website,
  some with a logo), each serving a few countries; some sites name a ``suboperator`` or ``owner``;
  some have an ``energy_mix``, ``images``, ``directions`` or ``related_locations``.
* **Hardware**: AC Type 2 sockets (``IEC_62196_T2``/``SOCKET``/``AC_3_PHASE``, 230 V, 16 A = 11 kW
  or 32 A = 22 kW, some tethered cables, a few with a second ``DOMESTIC_F`` socket); DC CCS cables
  (``IEC_62196_T2_COMBO``/``CABLE``/``DC``, 50–350 kW), 50 kW units often with a ``CHADEMO`` cable
  (and sometimes a 43 kW AC cable). Capabilities: ``REMOTE_START_STOP_CAPABLE`` on ~90 %,
  ``RESERVABLE`` on some, card payment (``CREDIT_CARD_PAYABLE``/``CONTACTLESS_CARD_SUPPORT``,
  with an ``AD_HOC_PAYMENT`` tariff) on most DC and a few AC EVSEs,
  ``START_SESSION_CONNECTOR_REQUIRED`` on a few (mostly multi-connector units). Two operators
  link ``terms_and_conditions`` on their connectors.
* **Statuses**: mostly ``AVAILABLE``, ~20 % ``CHARGING``, a few ``OUTOFORDER``/``INOPERATIVE``/
  ``UNKNOWN``/``BLOCKED``, ``RESERVED`` only where reservable, rare ``PLANNED`` (with a
  ``status_schedule``), ~2 % ``REMOVED``, and ~0.7 % of locations whose EVSEs are all ``REMOVED``
  (at least one such location in every network of 100 locations or more).
* **Hours**: 24/7 (some with an exceptional night closing), shop hours with holiday closings and
  an exceptional Sunday opening, split office hours (Mon–Fri 07:00–12:00 and 13:00–20:00);
  exceptional periods are UTC instants computed from the location's local time.
* **Tariffs** (per operator and country, in the country's currency and VAT rate): per kWh with
  VAT, per kWh + start fee + idle fee in a time-of-day window with ``max_price``, ad-hoc card
  payment (``AD_HOC_PAYMENT``, ``tariff_alt_text``), plus special shapes from the spec examples:
  ``min_price``, free of charge, time-based with ``step_size``, parking by time of day and
  weekday, a complex one with ``min_current``/``max_current`` and ``day_of_week``, a night tariff,
  reservation elements, a green tariff with ``energy_mix``, and a scheduled price change
  (``end_date_time`` on the old, ``start_date_time`` on the new tariff, both on the connectors).

Determinism contract
--------------------
The same ``(locations, seed, country_code, party_id, base_time)`` gives the same network: equal
``json.dumps`` output byte for byte, in any process (no hash-order dependence). A different
``seed`` gives a different network. Locations are drawn one after the other from one stream
and the tariffs from another, so a network of N locations is the first N of any larger one
with the same seed. ``base_time`` defaults to
:data:`DEFAULT_BASE_TIME` (not "now"); all ``last_updated`` lie before it: Locations in the 30
days before it, their EVSEs and connectors at or before their Location's (a Location's
``last_updated`` is never older than any of its children's), Tariffs mostly 31–90 days before
it. Exceptional openings/closings and scheduled tariffs lie after it. DateTimes are written
``YYYY-MM-DDTHH:MM:SSZ``; fixed width, so they sort as strings.

Mutation and paging
-------------------
``change_statuses(fraction, at=…, rng_seed=…)`` changes that fraction of the live EVSEs (never to
or from ``REMOVED``), deterministically for a given ``rng_seed`` and network state, and returns
:class:`StatusChange` objects a pusher turns into ``PATCH /{location_id}/{evse_uid}``.

``locations_page``/``tariffs_page`` serve a Sender's GET list: objects whose ``last_updated`` is
in ``[date_from, date_to)``, in creation order, with the total count. They use a sorted index
on ``last_updated`` and cache each filter's result until the next change, so a page costs
O(limit). ``*_page_bytes`` return the page as a JSON array from per-object pre-serialised JSON
(encoded on first use, or all at once by :meth:`Network.warm`; dropped when an object
changes), ~1 ms for 1,000 locations instead of ~20 ms of ``json.dumps``. The returned dicts
are the network's own: read-only. After editing the dicts by hand, call
:meth:`Network.invalidate`; a list that grew, shrank or was replaced is noticed by itself.

Pure Python (no Django) so the simulator runs anywhere; thread-safe for one writer and many
readers (the HTTP server's threads).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import gc
import itertools
import json
import math
import random
import threading
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = [
    "DEFAULT_BASE_TIME",
    "Network",
    "StatusChange",
    "build_network",
]

JsonDict = dict[str, Any]
T = TypeVar("T")

DEFAULT_BASE_TIME = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
LOCATION_WINDOW = 30 * 86400  # Locations' last_updated: the 30 days before base_time
DAY = 86400


# --------------------------------------------------------------------------- small helpers


class _Weighted(Generic[T]):
    """A weighted choice that costs one `random()` and one bisect."""

    def __init__(self, items: Sequence[tuple[T, float]]) -> None:
        self.items = [item for item, _ in items]
        self.cumulative = list(itertools.accumulate(weight for _, weight in items))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


class _Random(random.Random):
    """`random.Random` with cheap integer draws (the stdlib's cost ~1 µs each; these ~0.1 µs).

    Only `random()` is drawn, so the stream is the stdlib's for a given seed on any platform.
    """

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def between(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low + 1))

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self.random() * len(items))]

    def pick_some(self, items: Sequence[T], count: int) -> list[T]:
        pool = list(items)
        return [pool.pop(int(self.random() * len(pool))) for _ in range(count)]


_MINUTE_SECOND = [f"{minute:02d}:{second:02d}Z" for minute in range(60) for second in range(60)]
_HOUR_PREFIX: dict[int, str] = {}


def _ts(epoch: int) -> str:
    """Epoch seconds → OCPI DateTime ("2026-10-05T08:12:01Z"), fast (a dict and a list lookup)."""
    hour, rest = divmod(epoch, 3600)
    prefix = _HOUR_PREFIX.get(hour)
    if prefix is None:
        prefix = dt.datetime.fromtimestamp(hour * 3600, dt.UTC).strftime("%Y-%m-%dT%H:")
        _HOUR_PREFIX[hour] = prefix
    return prefix + _MINUTE_SECOND[rest]


def _epoch(value: dt.datetime) -> int:
    """Whole epoch seconds of an aware (or naive = UTC) datetime, fraction dropped."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return math.floor(value.timestamp())


def _bound(value: dt.datetime | None) -> str | None:
    """A paging bound as a timestamp string; a fractional second rounds up.

    Objects carry whole seconds: ``ts >= 12:00:00.5`` ⇔ ``ts >= 12:00:01`` and
    ``ts < 12:00:00.5`` ⇔ ``ts < 12:00:01``, so both bounds round up.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return _ts(math.ceil(value.timestamp()))


@functools.lru_cache(maxsize=2048)
def _local_to_utc(zone: str, year: int, month: int, day: int, hour: int, minute: int) -> str:
    local = dt.datetime(year, month, day, hour, minute, tzinfo=zoneinfo.ZoneInfo(zone))
    return _ts(_epoch(local))


# --------------------------------------------------------------------------- places


@dataclass(frozen=True)
class _Country:
    alpha3: str
    alpha2: str
    currency: str
    vat: float  # standard VAT rate, percent
    fx: float  # currency units per EUR, for price levels
    address_style: str  # "street number" | "number street" | "street, number"


COUNTRIES: dict[str, _Country] = {
    c.alpha3: c
    for c in (
        _Country("DEU", "DE", "EUR", 19.0, 1.0, "street number"),
        _Country("NLD", "NL", "EUR", 21.0, 1.0, "street number"),
        _Country("BEL", "BE", "EUR", 21.0, 1.0, "street number"),
        _Country("FRA", "FR", "EUR", 20.0, 1.0, "number street"),
        _Country("AUT", "AT", "EUR", 20.0, 1.0, "street number"),
        _Country("CHE", "CH", "CHF", 8.1, 0.94, "street number"),
        _Country("DNK", "DK", "DKK", 25.0, 7.46, "street number"),
        _Country("NOR", "NO", "NOK", 25.0, 11.7, "street number"),
        _Country("SWE", "SE", "SEK", 25.0, 11.4, "street number"),
        _Country("ESP", "ES", "EUR", 21.0, 1.0, "street, number"),
        _Country("ITA", "IT", "EUR", 22.0, 1.0, "street, number"),
        _Country("POL", "PL", "PLN", 23.0, 4.3, "street number"),
        _Country("PRT", "PT", "EUR", 23.0, 1.0, "street, number"),
    )
}

# Common, generic street names per language (no real address is reproduced: numbers and
# postal codes are drawn at random).
STREETS: dict[str, tuple[str, ...]] = {
    "de": ("Hauptstraße", "Bahnhofstraße", "Lindenallee", "Gartenweg", "Schulstraße", "Marktplatz",
           "Kirchgasse", "Am Stadtpark", "Industriestraße", "Mühlenweg", "Rosenstraße", "Wiesenweg",
           "Poststraße", "Ringstraße", "Am Hafen", "Birkenweg", "Lessingstraße", "Uferstraße"),
    "de-CH": ("Bahnhofstrasse", "Seestrasse", "Dorfstrasse", "Kirchweg", "Industriestrasse",
              "Bergstrasse", "Gartenstrasse", "Schulhausstrasse", "Lindenplatz", "Rosenweg"),
    "nl": ("Kerkstraat", "Stationsplein", "Molenweg", "Dorpsstraat", "Schoolstraat", "Havenkade",
           "Parklaan", "Lindelaan", "Beukenweg", "Marktplein", "Nieuwstraat", "Kanaalweg"),
    "fr": ("Rue de la Gare", "Avenue des Tilleuls", "Rue du Marché", "Boulevard du Parc",
           "Place de l'Église", "Rue des Écoles", "Quai du Port", "Allée des Roses",
           "Rue de la République", "Chemin des Vignes", "Rue du Moulin", "Avenue de la Liberté"),
    "da": ("Havnegade", "Kirkevej", "Skolevej", "Stationsvej", "Parkvej", "Strandvejen",
           "Nørregade", "Østergade", "Møllevej", "Industrivej"),
    "nb": ("Parkveien", "Storgata", "Kirkeveien", "Skolegata", "Strandveien", "Industriveien",
           "Stasjonsveien", "Bakkeveien", "Sjøgata", "Torggata"),
    "sv": ("Storgatan", "Kyrkogatan", "Skolgatan", "Parkvägen", "Hamngatan", "Järnvägsgatan",
           "Industrivägen", "Ringvägen", "Strandvägen", "Torggatan"),
    "es": ("Calle Mayor", "Avenida de la Constitución", "Calle del Sol", "Plaza Mayor",
           "Calle de la Estación", "Paseo del Parque", "Calle Nueva", "Avenida del Puerto",
           "Calle Real", "Calle de las Flores"),
    "it": ("Via Roma", "Via Garibaldi", "Corso Italia", "Via della Stazione", "Piazza del Mercato",
           "Viale dei Tigli", "Via Verdi", "Via Dante", "Via del Porto", "Viale Europa"),
    "pl": ("ul. Długa", "ul. Kolejowa", "ul. Parkowa", "ul. Szkolna", "ul. Ogrodowa", "ul. Polna",
           "ul. Lipowa", "ul. Przemysłowa", "ul. Kościelna", "ul. Słoneczna"),
    "pt": ("Rua Augusta", "Avenida da Liberdade", "Rua da Estação", "Rua do Comércio",
           "Praça da República", "Rua das Flores", "Avenida do Mar", "Rua Nova", "Rua da Escola",
           "Travessa do Carmo"),
}

# Local words for site names: charging point, garage, park-and-ride, business park, service area.
WORDS: dict[str, tuple[str, str, str, str, str]] = {
    "de": ("Ladepunkt", "Parkhaus", "P+R", "Gewerbepark", "Rastanlage"),
    "de-CH": ("Ladestation", "Parkhaus", "P+R", "Businesspark", "Raststätte"),
    "nl": ("Laadpunt", "Parkeergarage", "P+R", "Bedrijvenpark", "Verzorgingsplaats"),
    "fr": ("Borne", "Parking", "Parc relais", "Parc d'activités", "Aire de service"),
    "da": ("Ladestander", "P-hus", "Park & Ride", "Erhvervspark", "Rasteplads"),
    "nb": ("Ladepunkt", "P-hus", "Innfartsparkering", "Næringspark", "Rasteplass"),
    "sv": ("Laddpunkt", "P-hus", "Pendlarparkering", "Företagspark", "Rastplats"),
    "es": ("Punto de carga", "Aparcamiento", "Park & Ride", "Parque empresarial", "Área de servicio"),
    "it": ("Colonnina", "Autosilo", "Parcheggio scambiatore", "Business park", "Area di servizio"),
    "pl": ("Punkt ładowania", "Parking wielopoziomowy", "Parkuj i Jedź", "Park biurowy", "MOP"),
    "pt": ("Posto de carregamento", "Parque de estacionamento", "Park & Ride", "Parque empresarial",
           "Área de serviço"),
}

PostalCode = Callable[[_Random], str]


def _digits(pattern: str, low: int, high: int) -> PostalCode:
    return lambda rng: pattern.format(rng.between(low, high))


_NL_LETTERS = "ABCDEGHJKLMNPRSTVWXZ"


def _nl_postal(low: int, high: int) -> PostalCode:
    return lambda rng: f"{rng.between(low, high)} {rng.pick(_NL_LETTERS)}{rng.pick(_NL_LETTERS)}"


def _se_postal(low: int, high: int) -> PostalCode:
    def make(rng: _Random) -> str:
        number = rng.between(low, high)
        return f"{number // 100} {number % 100:02d}"

    return make


def _pl_postal(low: int, high: int) -> PostalCode:
    def make(rng: _Random) -> str:
        number = rng.between(low, high)
        return f"{number // 1000:02d}-{number % 1000:03d}"

    return make


def _pt_postal(low: int, high: int) -> PostalCode:
    return lambda rng: f"{rng.between(low, high)}-{rng.between(1, 399):03d}"


@dataclass(frozen=True)
class City:
    name: str
    country: str  # ISO 3166-1 alpha-3
    time_zone: str  # IANA
    latitude: float
    longitude: float
    radius_km: float
    weight: float
    postal_code: PostalCode
    state: str | None
    language: str  # key of STREETS/WORDS; DisplayText uses its first two letters


CITIES: tuple[City, ...] = (
    City("Berlin", "DEU", "Europe/Berlin", 52.5200, 13.4050, 14, 8, _digits("{:05d}", 10115, 14199), "Berlin", "de"),
    City("München", "DEU", "Europe/Berlin", 48.1372, 11.5756, 10, 5, _digits("{:05d}", 80331, 81929), "Bayern", "de"),
    City("Hamburg", "DEU", "Europe/Berlin", 53.5511, 9.9937, 12, 5, _digits("{:05d}", 20095, 22769), "Hamburg", "de"),
    City("Köln", "DEU", "Europe/Berlin", 50.9375, 6.9603, 9, 4, _digits("{:05d}", 50667, 51149), "Nordrhein-Westfalen", "de"),
    City("Frankfurt am Main", "DEU", "Europe/Berlin", 50.1109, 8.6821, 8, 3, _digits("{:05d}", 60306, 60599), "Hessen", "de"),
    City("Stuttgart", "DEU", "Europe/Berlin", 48.7758, 9.1829, 7, 3, _digits("{:05d}", 70173, 70629), "Baden-Württemberg", "de"),
    City("Amsterdam", "NLD", "Europe/Amsterdam", 52.3676, 4.9041, 8, 5, _nl_postal(1011, 1109), "Noord-Holland", "nl"),
    City("Rotterdam", "NLD", "Europe/Amsterdam", 51.9244, 4.4777, 8, 3, _nl_postal(3011, 3089), "Zuid-Holland", "nl"),
    City("Utrecht", "NLD", "Europe/Amsterdam", 52.0907, 5.1214, 6, 2, _nl_postal(3511, 3585), "Utrecht", "nl"),
    City("Bruxelles", "BEL", "Europe/Brussels", 50.8503, 4.3517, 7, 3, _digits("{:04d}", 1000, 1210), None, "fr"),
    City("Gent", "BEL", "Europe/Brussels", 51.0543, 3.7174, 6, 2, _digits("{:04d}", 9000, 9052), None, "nl"),
    City("Antwerpen", "BEL", "Europe/Brussels", 51.2194, 4.4025, 7, 2, _digits("{:04d}", 2000, 2660), None, "nl"),
    City("Paris", "FRA", "Europe/Paris", 48.8566, 2.3522, 8, 6, _digits("750{:02d}", 1, 20), "Île-de-France", "fr"),
    City("Lyon", "FRA", "Europe/Paris", 45.7640, 4.8357, 7, 3, _digits("6900{:d}", 1, 9), "Auvergne-Rhône-Alpes", "fr"),
    City("Wien", "AUT", "Europe/Vienna", 48.2082, 16.3738, 9, 3, _digits("1{:02d}0", 1, 23), "Wien", "de"),
    City("Graz", "AUT", "Europe/Vienna", 47.0707, 15.4395, 5, 1, _digits("{:04d}", 8010, 8055), "Steiermark", "de"),
    City("Zürich", "CHE", "Europe/Zurich", 47.3769, 8.5417, 6, 2, _digits("{:04d}", 8001, 8064), "Zürich", "de-CH"),
    City("Basel", "CHE", "Europe/Zurich", 47.5596, 7.5886, 4, 1, _digits("{:04d}", 4001, 4059), "Basel-Stadt", "de-CH"),
    City("København", "DNK", "Europe/Copenhagen", 55.6761, 12.5683, 7, 2, _digits("{:04d}", 1050, 2450), None, "da"),
    City("Aarhus", "DNK", "Europe/Copenhagen", 56.1629, 10.2039, 5, 1, _digits("{:04d}", 8000, 8270), None, "da"),
    City("Oslo", "NOR", "Europe/Oslo", 59.9139, 10.7522, 8, 3, _digits("{:04d}", 150, 1295), None, "nb"),
    City("Bergen", "NOR", "Europe/Oslo", 60.3913, 5.3221, 5, 1, _digits("{:04d}", 5003, 5098), None, "nb"),
    City("Stockholm", "SWE", "Europe/Stockholm", 59.3293, 18.0686, 9, 3, _se_postal(11120, 12999), None, "sv"),
    City("Göteborg", "SWE", "Europe/Stockholm", 57.7089, 11.9746, 6, 1, _se_postal(41101, 41879), None, "sv"),
    City("Madrid", "ESP", "Europe/Madrid", 40.4168, -3.7038, 10, 3, _digits("{:05d}", 28001, 28055), "Comunidad de Madrid", "es"),
    City("Barcelona", "ESP", "Europe/Madrid", 41.3874, 2.1686, 7, 2, _digits("{:05d}", 8001, 8042), "Cataluña", "es"),
    City("Milano", "ITA", "Europe/Rome", 45.4642, 9.1900, 8, 3, _digits("{:05d}", 20121, 20162), "Lombardia", "it"),
    City("Roma", "ITA", "Europe/Rome", 41.9028, 12.4964, 10, 2, _digits("{:05d}", 118, 199), "Lazio", "it"),
    City("Warszawa", "POL", "Europe/Warsaw", 52.2297, 21.0122, 10, 2, _pl_postal(1, 4999), "mazowieckie", "pl"),
    City("Kraków", "POL", "Europe/Warsaw", 50.0647, 19.9450, 6, 1, _pl_postal(30001, 31999), "małopolskie", "pl"),
    City("Lisboa", "PRT", "Europe/Lisbon", 38.7223, -9.1393, 7, 2, _pt_postal(1000, 1990), None, "pt"),
    City("Porto", "PRT", "Europe/Lisbon", 41.1579, -8.6291, 5, 1, _pt_postal(4000, 4369), None, "pt"),
)


# --------------------------------------------------------------------------- operators


@dataclass(frozen=True)
class Operator:
    key: str  # prefix of its tariff ids
    name: str
    website: str
    countries: tuple[str, ...]
    coordinate_decimals: int
    has_ac: bool = True
    reservations: bool = False
    logo: bool = False
    price_level: float = 1.0
    start_fee: float = 0.0  # EUR excl. VAT, on DC
    terms: bool = False


OPERATORS: tuple[Operator, ...] = (
    Operator("VW", "VoltWay", "https://www.voltway.example", ("DEU", "NLD", "BEL", "FRA", "AUT", "ITA"), 6,
             reservations=True, logo=True, price_level=1.0, start_fee=0.42),
    Operator("SW", "Stadtwerk Energie", "https://emobil.stadtwerk-energie.example", ("DEU", "AUT", "CHE"), 5,
             price_level=0.92, terms=True),
    Operator("FL", "FastLane Charging", "https://fastlane-charging.example",
             ("DEU", "NLD", "FRA", "NOR", "SWE", "ITA"), 7, has_ac=False, logo=True, price_level=1.12),
    Operator("GP", "GreenPlug", "https://greenplug.example", ("NLD", "BEL", "FRA"), 6,
             reservations=True, price_level=1.04, start_fee=0.25),
    Operator("NC", "Nordic Charge", "https://nordic-charge.example", ("DNK", "NOR", "SWE"), 6,
             logo=True, price_level=0.97),
    Operator("IR", "Ibérica Recarga", "https://iberica-recarga.example", ("ESP", "PRT", "ITA"), 6,
             price_level=0.95, start_fee=0.5, terms=True),
    Operator("MP", "Miejski Prąd", "https://miejskiprad.example", ("POL",), 6, price_level=0.9),
)
SUBOPERATORS = ("ChargeServ Technik", "EV Field Services", "PlugCare", "Servicio Técnico VE")
SUPERMARKETS = ("FreshCorner", "MarketHall", "DailyBasket", "GreenGrocer", "Halle Frische", "Supermercato Sole")
ENERGY_SUPPLIERS = (
    ("Windstrom Nord", "Nordwind Öko"), ("SolarKraft", "Sonne 100"), ("Hydro Alpin", "Wasserkraft Plus"),
    ("EcoVolt", "EcoVolt Green"),
)


# --------------------------------------------------------------------------- tariffs


def _component(kind: str, price: float, vat: float | None, step_size: int) -> JsonDict:
    component: JsonDict = {"type": kind, "price": price}
    if vat is not None:
        component["vat"] = vat
    component["step_size"] = step_size
    return component


WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
WEEKEND = ["SATURDAY", "SUNDAY"]
ADHOC_TEXT = {
    "de": "Bezahlung mit Debit- oder Kreditkarte direkt am Ladepunkt, ohne Vertrag.",
    "nl": "Betalen met betaal- of creditcard aan de laadpaal, zonder abonnement.",
    "fr": "Paiement par carte bancaire directement à la borne, sans abonnement.",
    "da": "Betal med betalingskort direkte ved ladestanderen, uden abonnement.",
    "nb": "Betal med bankkort direkte på laderen, uten abonnement.",
    "sv": "Betala med bankkort direkt vid laddaren, utan abonnemang.",
    "es": "Pago con tarjeta de débito o crédito en el punto de carga, sin contrato.",
    "it": "Pagamento con carta di debito o di credito alla colonnina, senza abbonamento.",
    "pl": "Płatność kartą debetową lub kredytową przy ładowarce, bez umowy.",
    "pt": "Pagamento com cartão de débito ou crédito no posto, sem contrato.",
}
COUNTRY_LANGUAGE = {"DEU": "de", "NLD": "nl", "BEL": "nl", "FRA": "fr", "AUT": "de", "CHE": "de", "DNK": "da",
                    "NOR": "nb", "SWE": "sv", "ESP": "es", "ITA": "it", "POL": "pl", "PRT": "pt"}


@dataclass
class _TariffBook:
    """Which tariff ids a connector gets, by operator and country."""

    ac: dict[tuple[str, str], list[str]]
    dc: dict[tuple[str, str], list[str]]
    adhoc: dict[tuple[str, str], str]
    special: dict[str, list[str]]


def _build_tariffs(rng: random.Random, country_code: str, party_id: str, base: int) -> tuple[list[JsonDict], _TariffBook]:
    tariffs: list[JsonDict] = []
    book = _TariffBook(ac={}, dc={}, adhoc={}, special={})

    def updated() -> str:
        # Most tariffs are older than every location; a fifth changed within the locations' window.
        if rng.random() < 0.2:
            return _ts(base - 1 - rng.randrange(LOCATION_WINDOW))
        return _ts(base - 31 * DAY - rng.randrange(59 * DAY))

    def add(tariff_id: str, currency: str, elements: list[JsonDict], *, kind: str | None = "REGULAR",
            **extra: Any) -> str:
        tariff: JsonDict = {"country_code": country_code, "party_id": party_id, "id": tariff_id, "currency": currency}
        if kind is not None:
            tariff["type"] = kind
        for name in ("tariff_alt_text", "tariff_alt_url", "min_price", "max_price"):
            if name in extra:
                tariff[name] = extra.pop(name)
        tariff["elements"] = elements
        for name in ("start_date_time", "end_date_time", "energy_mix"):
            if name in extra:
                tariff[name] = extra.pop(name)
        if extra:
            raise TypeError(f"unknown tariff fields {sorted(extra)}")
        tariff["last_updated"] = updated()
        tariffs.append(tariff)
        return tariff_id

    def money(eur: float, country: _Country) -> float:
        return round(eur * country.fx * (0.96 + 0.08 * rng.random()), 2)

    for op in OPERATORS:
        for alpha3 in op.countries:
            country = COUNTRIES[alpha3]
            vat, cur, prefix = country.vat, country.currency, f"{op.key}-{country.alpha2}"
            language = COUNTRY_LANGUAGE[alpha3]
            ac_price = money(0.41 * op.price_level, country)
            dc_price = money(0.55 * op.price_level, country)
            hpc_idle = money(6.0, country)
            if op.has_ac:
                ac_elements: list[JsonDict] = [{"price_components": [_component("ENERGY", ac_price, vat, 1)]}]
                ac_extra: JsonDict = {}
                if op.key == "VW" and alpha3 == "DEU":
                    # Reservations priced as in the spec's tariff_16/17: fee + per hour while reserved.
                    ac_elements = [
                        {"price_components": [_component("FLAT", money(3.36, country), vat, 1)],
                         "restrictions": {"reservation": "RESERVATION_EXPIRES"}},
                        {"price_components": [_component("FLAT", money(1.68, country), vat, 1),
                                              _component("TIME", money(4.2, country), vat, 300)],
                         "restrictions": {"reservation": "RESERVATION"}},
                        *ac_elements,
                    ]
                if op.key == "GP":
                    ac_extra["energy_mix"] = {
                        "is_green_energy": True,
                        "energy_sources": [{"source": "WIND", "percentage": 80}, {"source": "SOLAR", "percentage": 20}],
                        "supplier_name": "GreenPlug Energie", "energy_product_name": "GreenPlug 100% Wind & Zon",
                    }
                if op.key == "IR":
                    ac_extra["tariff_alt_text"] = [
                        {"language": language, "text": "Tarifa por energía; IVA incluido en la factura."
                         if language == "es" else "Tariffa a consumo; IVA in fattura." if language == "it"
                         else "Tarifa por energia; IVA incluído na fatura."},
                        {"language": "en", "text": "Priced per kWh; VAT shown on the invoice."},
                    ]
                if op.key == "SW" and alpha3 == "DEU":
                    # A scheduled price change: both tariffs are on the connectors, one valid at a time.
                    change = _local_to_utc("Europe/Berlin", dt.datetime.fromtimestamp(base, dt.UTC).year + 1, 1, 1, 0, 0)
                    old = add(f"{prefix}-AC", cur, ac_elements, end_date_time=change)
                    new = add(f"{prefix}-AC-NEXT", cur,
                              [{"price_components": [_component("ENERGY", round(ac_price + 0.03, 2), vat, 1)]}],
                              start_date_time=change)
                    book.ac[(op.key, alpha3)] = [old, new]
                else:
                    book.ac[(op.key, alpha3)] = [add(f"{prefix}-AC", cur, ac_elements, **ac_extra)]
            # DC: start fee, per kWh, idle fee by day (tariff_10 shape, time-of-day window), capped.
            dc_components = [_component("ENERGY", dc_price if op.key != "FL" else money(0.64, country), vat, 1)]
            if op.start_fee:
                dc_components.insert(0, _component("FLAT", money(op.start_fee, country), vat, 1))
            dc_elements: list[JsonDict] = [
                {"price_components": dc_components},
                {"price_components": [_component("PARKING_TIME", hpc_idle, vat, 60)],
                 "restrictions": {"start_time": "07:00" if op.key == "FL" else "08:00",
                                  "end_time": "22:00" if op.key == "FL" else "20:00"}},
            ]
            dc_extra: JsonDict = {}
            if op.key in ("VW", "MP"):
                dc_extra["max_price"] = {"excl_vat": money(60.0, country), "incl_vat": 0.0}
                dc_extra["max_price"]["incl_vat"] = round(dc_extra["max_price"]["excl_vat"] * (1 + vat / 100), 2)
            if op.key == "FL":
                dc_extra["tariff_alt_url"] = f"{op.website}/prices/{country.alpha2.lower()}"
            book.dc[(op.key, alpha3)] = [add(f"{prefix}-DC", cur, dc_elements, **dc_extra)]
            # Ad hoc: card at the charger (AFIR), one per operator and country.
            adhoc_components = [_component("ENERGY", round(dc_price * 1.15, 2), vat, 1)]
            if op.key in ("IR", "NC"):
                adhoc_components.append(_component("FLAT", money(0.4, country), vat, 1))
            book.adhoc[(op.key, alpha3)] = add(
                f"{prefix}-ADHOC", cur, [{"price_components": adhoc_components}], kind="AD_HOC_PAYMENT",
                tariff_alt_text=[{"language": "en", "text": "Pay by debit or credit card at the charger, no contract."},
                                 *([{"language": language, "text": ADHOC_TEXT[language]}] if language != "en" else [])],
            )

    eur = COUNTRIES["DEU"]
    # tariff_12: per kWh with a minimum price.
    book.special["VW-DE-MIN"] = [add("VW-DE-MIN", "EUR", [{"price_components": [_component("ENERGY", 0.36, 19.0, 1)]}],
                                     min_price={"excl_vat": 0.84, "incl_vat": 1.0})]
    # tariff_5: free of charge (hotel guests).
    book.special["VW-FREE"] = [add("VW-FREE", "EUR", [{"price_components": [_component("FLAT", 0.0, None, 0)]}],
                                   tariff_alt_text=[{"language": "en", "text": "Free charging for guests."}])]
    # Parking by time of day and weekday (garage): PARKING_TIME only Mon–Sat 08:00–20:00.
    book.special["SW-DE-PARK"] = [add("SW-DE-PARK", "EUR", [
        {"price_components": [_component("ENERGY", money(0.38, eur), 19.0, 1),
                              _component("PARKING_TIME", 1.5, 19.0, 900)],
         "restrictions": {"start_time": "08:00", "end_time": "20:00", "day_of_week": [*WEEKDAYS, "SATURDAY"]}},
        {"price_components": [_component("ENERGY", money(0.38, eur), 19.0, 1)]},
    ])]
    nl = COUNTRIES["NLD"]
    # tariff_13: time-based with step_size, charging and parking.
    book.special["GP-NL-TIME"] = [add("GP-NL-TIME", "EUR", [{"price_components": [
        _component("TIME", money(2.4, nl), 21.0, 60), _component("PARKING_TIME", money(4.0, nl), 21.0, 300)]}],
        tariff_alt_url="https://greenplug.example/tarieven/tijd")]
    # tariff_4: complex, with current and day-of-week restrictions.
    book.special["GP-NL-COMPLEX"] = [add("GP-NL-COMPLEX", "EUR", [
        {"price_components": [_component("FLAT", 2.07, 21.0, 1)]},
        {"price_components": [_component("TIME", 0.83, 21.0, 900)], "restrictions": {"max_current": 32.0}},
        {"price_components": [_component("TIME", 1.65, 21.0, 600)],
         "restrictions": {"min_current": 32.0, "day_of_week": WEEKDAYS}},
        {"price_components": [_component("TIME", 1.24, 21.0, 600)],
         "restrictions": {"min_current": 32.0, "day_of_week": WEEKEND}},
        {"price_components": [_component("PARKING_TIME", 4.13, 21.0, 300)],
         "restrictions": {"start_time": "09:00", "end_time": "18:00", "day_of_week": WEEKDAYS}},
        {"price_components": [_component("PARKING_TIME", 2.48, 21.0, 300)],
         "restrictions": {"start_time": "10:00", "end_time": "17:00", "day_of_week": ["SATURDAY"]}},
    ], tariff_alt_url="https://greenplug.example/tarieven/complex")]
    no = COUNTRIES["NOR"]
    # tariff_14 shape (time windows wrapping midnight) on energy: a night price.
    book.special["NC-NO-NIGHT"] = [add("NC-NO-NIGHT", "NOK", [
        {"price_components": [_component("ENERGY", money(0.28, no), 25.0, 1)],
         "restrictions": {"start_time": "22:00", "end_time": "06:00"}},
        {"price_components": [_component("ENERGY", money(0.42, no), 25.0, 1),
                              _component("PARKING_TIME", money(3.0, no), 25.0, 600)],
         "restrictions": {"start_time": "06:00", "end_time": "22:00"}},
    ])]
    return tariffs, book


# --------------------------------------------------------------------------- sites and EVSEs


@dataclass(frozen=True)
class _Site:
    kind: str
    evses: tuple[int, int]
    parking_types: tuple[str, ...]
    facilities: tuple[str, ...]


SITES = _Weighted([
    (_Site("street", (1, 2), ("ON_STREET",), ("BUS_STOP", "TRAM_STOP", "CAFE", "BIKE_SHARING")), 34),
    (_Site("supermarket", (2, 4), ("PARKING_LOT",), ("SUPERMARKET", "CAFE", "PARKING_LOT")), 18),
    (_Site("garage", (2, 7), ("PARKING_GARAGE", "UNDERGROUND_GARAGE"), ("PARKING_LOT", "MALL", "MUSEUM", "METRO_STATION")), 12),
    (_Site("hub", (4, 8), ("PARKING_LOT",), ("CAFE", "WIFI", "RESTAURANT", "MALL")), 8),
    (_Site("motorway", (2, 6), ("ALONG_MOTORWAY",), ("FUEL_STATION", "RESTAURANT", "WIFI", "CAFE")), 6),
    (_Site("hotel", (1, 3), ("PARKING_LOT", "UNDERGROUND_GARAGE"), ("HOTEL", "RESTAURANT", "WIFI")), 7),
    (_Site("office", (2, 6), ("PARKING_LOT", "UNDERGROUND_GARAGE"), ("CARPOOL_PARKING", "WIFI")), 6),
    (_Site("station", (2, 4), ("PARKING_LOT",), ("TRAIN_STATION", "PARKING_LOT", "BIKE_SHARING", "TAXI_STAND")), 9),
])
CITY_PICK = _Weighted([(city, city.weight) for city in CITIES])
STATUS = _Weighted([
    ("AVAILABLE", 66.0), ("CHARGING", 20.0), ("BLOCKED", 1.5), ("RESERVED", 1.0), ("OUTOFORDER", 3.0),
    ("INOPERATIVE", 2.0), ("UNKNOWN", 3.0), ("PLANNED", 0.4), ("REMOVED", 2.5),
])
DC_POWER = {
    "hub": _Weighted([(150, 3), (300, 3), (350, 4)]),
    "motorway": _Weighted([(50, 3), (150, 4), (350, 3)]),
    "supermarket": _Weighted([(50, 5), (100, 2), (150, 3)]),
}
# (max_voltage, max_amperage) of a CCS cable by rated power (kW).
CCS = {50: (500, 125), 100: (500, 200), 150: (920, 200), 300: (920, 400), 350: (1000, 500)}
# Next statuses of a live EVSE, for change_statuses.
TRANSITIONS: dict[str, _Weighted[str]] = {
    "AVAILABLE": _Weighted([("CHARGING", 80), ("BLOCKED", 5), ("RESERVED", 5), ("OUTOFORDER", 4),
                            ("INOPERATIVE", 3), ("UNKNOWN", 3)]),
    "CHARGING": _Weighted([("AVAILABLE", 85), ("BLOCKED", 8), ("OUTOFORDER", 2), ("UNKNOWN", 5)]),
    "BLOCKED": _Weighted([("AVAILABLE", 70), ("CHARGING", 30)]),
    "RESERVED": _Weighted([("CHARGING", 60), ("AVAILABLE", 40)]),
    "OUTOFORDER": _Weighted([("AVAILABLE", 80), ("INOPERATIVE", 10), ("UNKNOWN", 10)]),
    "INOPERATIVE": _Weighted([("AVAILABLE", 85), ("OUTOFORDER", 15)]),
    "UNKNOWN": _Weighted([("AVAILABLE", 75), ("CHARGING", 15), ("OUTOFORDER", 10)]),
    "PLANNED": _Weighted([("AVAILABLE", 100)]),
}


def _connector(connector_id: str, standard: str, form: str, power_type: str, voltage: int, amperage: int,
               watts: int, tariff_ids: list[str], terms: str | None, updated: str) -> JsonDict:
    connector: JsonDict = {
        "id": connector_id, "standard": standard, "format": form, "power_type": power_type,
        "max_voltage": voltage, "max_amperage": amperage, "max_electric_power": watts, "tariff_ids": tariff_ids,
    }
    if terms is not None:
        connector["terms_and_conditions"] = terms
    connector["last_updated"] = updated
    return connector


class _Builder:
    def __init__(self, *, seed: int, country_code: str, party_id: str, base: int, book: _TariffBook) -> None:
        self.rng = _Random(seed)
        self.country_code = country_code
        self.party_id = party_id
        self.base = base
        self.book = book
        self.base_date = dt.datetime.fromtimestamp(base, dt.UTC).date()
        # One slot in every 160 locations is all-REMOVED, so 100+ locations always show one.
        self.removed_slot = self.rng.below(100)
        self.operators_ac: dict[str, _Weighted[Operator]] = {}
        self.operators_dc: dict[str, _Weighted[Operator]] = {}
        for alpha3 in COUNTRIES:
            serving = [op for op in OPERATORS if alpha3 in op.countries]
            self.operators_ac[alpha3] = _Weighted([(op, 1.0) for op in serving if op.has_ac])
            self.operators_dc[alpha3] = _Weighted([(op, 3.0 if op.key == "FL" else 1.0) for op in serving])
        self.holidays = self._upcoming(((12, 25), (12, 26), (1, 1), (5, 1)), 3)
        december = dt.date(self.base_date.year, 12, 1)
        if december <= self.base_date:
            december = dt.date(self.base_date.year + 1, 12, 1)
        self.shopping_sunday = december + dt.timedelta(days=(6 - december.weekday()) % 7 + 14)

    def _upcoming(self, month_days: Sequence[tuple[int, int]], count: int) -> list[dt.date]:
        dates = sorted(
            dt.date(self.base_date.year + (dt.date(self.base_date.year, m, d) <= self.base_date), m, d)
            for m, d in month_days
        )
        return dates[:count]

    # ---- hours

    def _regular(self, days: Sequence[int], begin: str, end: str) -> list[JsonDict]:
        return [{"weekday": day, "period_begin": begin, "period_end": end} for day in days]

    def _day_closing(self, zone: str, day: dt.date) -> JsonDict:
        following = day + dt.timedelta(days=1)
        return {"period_begin": _local_to_utc(zone, day.year, day.month, day.day, 0, 0),
                "period_end": _local_to_utc(zone, following.year, following.month, following.day, 0, 0)}

    def _hours(self, kind: str, zone: str) -> JsonDict:
        rng = self.rng
        if kind == "shop":
            begin, end = rng.pick((("07:00", "21:00"), ("08:00", "20:00"), ("07:00", "22:00")))
            regular = self._regular(range(1, 7), begin, end)
            if rng.random() < 0.3:
                regular += self._regular([7], "10:00", "18:00")
            hours: JsonDict = {"twentyfourseven": False, "regular_hours": regular}
            if rng.random() < 0.2:
                sunday = self.shopping_sunday
                hours["exceptional_openings"] = [{
                    "period_begin": _local_to_utc(zone, sunday.year, sunday.month, sunday.day, 12, 0),
                    "period_end": _local_to_utc(zone, sunday.year, sunday.month, sunday.day, 18, 0)}]
            if rng.random() < 0.6:
                hours["exceptional_closings"] = [self._day_closing(zone, day) for day in self.holidays[:2]]
            return hours
        if kind == "split":
            regular = self._regular(range(1, 6), "07:00", "12:00") + self._regular(range(1, 6), "13:00", "20:00")
            if rng.random() < 0.4:
                regular += self._regular([6], "08:00", "14:00")
            hours = {"twentyfourseven": False, "regular_hours": regular}
            if rng.random() < 0.5:
                hours["exceptional_closings"] = [self._day_closing(zone, day) for day in self.holidays]
            return hours
        if kind == "daily":
            return {"twentyfourseven": False, "regular_hours": self._regular(range(1, 8), "06:00", "23:30")}
        hours = {"twentyfourseven": True}
        if kind == "maintenance":
            day = self.base_date + dt.timedelta(days=rng.between(3, 20))
            following = day + dt.timedelta(days=1)
            hours["exceptional_closings"] = [{
                "period_begin": _local_to_utc(zone, day.year, day.month, day.day, 22, 0),
                "period_end": _local_to_utc(zone, following.year, following.month, following.day, 5, 0)}]
        return hours

    # ---- one location

    def location(self, number: int) -> JsonDict:
        rng = self.rng
        city = CITY_PICK.pick(rng)
        country = COUNTRIES[city.country]
        site = SITES.pick(rng)
        kind = site.kind
        fast = kind in ("hub", "motorway")
        operator = (self.operators_dc if fast else self.operators_ac)[city.country].pick(rng)
        location_id = f"LOC{number:08d}"
        streets = STREETS[city.language]
        words = WORDS[city.language]
        street = streets[rng.below(len(streets))]
        house = str(rng.between(1, 180))
        if rng.random() < 0.08:
            house += rng.pick("abc") if country.alpha3 != "FRA" else " bis"
        if country.address_style == "number street":
            address = f"{house} {street}"
        elif country.address_style == "street, number":
            address = f"{street}, {house}"
        else:
            address = f"{street} {house}"
        postal_code = city.postal_code(rng)

        # Coordinates: denser towards the centre; motorway sites on the ring outside the city.
        angle = rng.random() * math.tau
        distance = city.radius_km * rng.random() ** 0.8
        if kind == "motorway":
            distance = city.radius_km + 4 + rng.random() * 25
        latitude = city.latitude + distance / 111.32 * math.sin(angle)
        longitude = city.longitude + distance / (111.32 * math.cos(math.radians(city.latitude))) * math.cos(angle)
        decimals = operator.coordinate_decimals
        coordinates = {"latitude": f"{latitude:.{decimals}f}", "longitude": f"{longitude:.{decimals}f}"}

        location_epoch = self.base - 1 - rng.below(LOCATION_WINDOW)
        all_removed = number % 160 == self.removed_slot or rng.random() < 0.001
        all_planned = not all_removed and rng.random() < 0.004
        evses = self._evses(number, rng, site, operator, country, location_epoch, all_removed, all_planned,
                            (latitude, longitude, decimals))

        if kind == "street":
            name = f"{words[0]} {street}"
        elif kind == "supermarket":
            chain = rng.pick(SUPERMARKETS)
            name = f"{chain} {city.name} {street}"
        elif kind == "garage":
            name = f"{words[1]} {street}"
        elif kind == "hub":
            name = f"{operator.name} Hub {city.name} {street}"
        elif kind == "motorway":
            name = f"{words[4]} {city.name} {rng.between(1, 9)}"
        elif kind == "hotel":
            name = f"Hotel {street}"
        elif kind == "office":
            name = f"{words[3]} {city.name} {street}"
        else:
            name = f"{words[2]} {street}"

        location: JsonDict = {
            "country_code": self.country_code,
            "party_id": self.party_id,
            "id": location_id,
            "publish": True,
        }
        unpublished = rng.random() < {"office": 0.3, "hotel": 0.08}.get(kind, 0.003)
        if unpublished:
            location["publish"] = False
            location["publish_allowed_to"] = self._allowed(rng, kind, operator)
        location["name"] = name
        location["address"] = address
        location["city"] = city.name
        location["postal_code"] = postal_code
        if city.state is not None and rng.random() < 0.5:
            location["state"] = city.state
        location["country"] = city.country
        location["coordinates"] = coordinates
        if kind == "garage" and rng.random() < 0.2:
            location["related_locations"] = [{
                "latitude": f"{latitude + 0.0004:.{decimals}f}", "longitude": f"{longitude - 0.0003:.{decimals}f}",
                "name": {"language": "en", "text": "Car entrance"}}]
        location["parking_type"] = rng.pick(site.parking_types)
        location["evses"] = evses
        if kind in ("garage", "motorway") and rng.random() < 0.3:
            text = (f"Entrance from {street}; chargers on level -1, bays marked green." if kind == "garage"
                    else "Chargers behind the service station, next to the truck parking.")
            location["directions"] = [{"language": "en", "text": text}]
        if rng.random() < 0.92:
            location["operator"] = self._business(operator)
        if rng.random() < 0.07:
            location["suboperator"] = {"name": rng.pick(SUBOPERATORS)}
        if kind == "supermarket" and rng.random() < 0.6:
            location["owner"] = {"name": chain}
        elif kind == "garage" and rng.random() < 0.4:
            location["owner"] = {"name": f"{words[1]} {city.name}"}
        elif kind == "hotel" and rng.random() < 0.5:
            location["owner"] = {"name": name}
        facilities = sorted(rng.pick_some(site.facilities, rng.between(0 if kind == "street" else 1, 2)))
        if facilities:
            location["facilities"] = facilities
        location["time_zone"] = city.time_zone
        hours_kind = {"supermarket": "shop", "office": "split"}.get(kind, "always")
        if kind == "garage":
            hours_kind = rng.pick(("always", "always", "daily", "maintenance"))
        elif kind == "hub" and rng.random() < 0.04:
            hours_kind = "maintenance"
        if kind != "street" or rng.random() < 0.7:
            location["opening_times"] = self._hours(hours_kind, city.time_zone)
            if hours_kind in ("shop", "split", "daily"):
                location["charging_when_closed"] = kind == "office" or rng.random() < 0.3
        if rng.random() < 0.05:
            location["images"] = [{
                "url": f"{operator.website}/images/{location_id}.jpg",
                "thumbnail": f"{operator.website}/images/{location_id}-thumb.jpg",
                "category": rng.pick(("LOCATION", "ENTRANCE", "CHARGER")), "type": "jpeg",
                "width": 1024, "height": 768}]
        if rng.random() < 0.12:
            location["energy_mix"] = self._energy_mix(rng)
        location["last_updated"] = _ts(location_epoch)
        return location

    def _business(self, operator: Operator) -> JsonDict:
        details: JsonDict = {"name": operator.name, "website": operator.website}
        if operator.logo:
            details["logo"] = {"url": f"{operator.website}/logo.png", "category": "OPERATOR", "type": "png",
                               "width": 512, "height": 512}
        return details

    def _allowed(self, rng: _Random, kind: str, operator: Operator) -> list[JsonDict]:
        if kind == "hotel":
            return [{"visual_number": f"GUEST-{rng.below(10**6):06d}", "issuer": operator.name}]
        allowed: list[JsonDict] = [{"group_id": f"FLEET-{rng.below(10**5):05d}"}]
        for _ in range(rng.between(0, 2)):
            allowed.append({"uid": f"{rng.getrandbits(56):014X}", "type": "RFID"})
        return allowed

    def _energy_mix(self, rng: _Random) -> JsonDict:
        supplier, product = rng.pick(ENERGY_SUPPLIERS)
        shape = rng.random()
        if shape < 0.3:
            return {"is_green_energy": True}
        if shape < 0.7:
            wind = rng.randrange(40, 90, 5)
            return {"is_green_energy": True,
                    "energy_sources": [{"source": "WIND", "percentage": wind},
                                       {"source": "SOLAR", "percentage": 100 - wind}],
                    "supplier_name": supplier, "energy_product_name": product}
        green = rng.between(25, 60)
        nuclear = rng.between(0, 25)
        gas = rng.between(5, 15)
        coal = 100 - green - nuclear - gas
        return {"is_green_energy": False,
                "energy_sources": [{"source": "GENERAL_GREEN", "percentage": green},
                                   {"source": "GAS", "percentage": gas},
                                   {"source": "COAL", "percentage": coal},
                                   {"source": "NUCLEAR", "percentage": nuclear}],
                "environ_impact": [{"category": "NUCLEAR_WASTE", "amount": round(nuclear * 0.00003, 5)},
                                   {"category": "CARBON_DIOXIDE", "amount": round(coal * 9.5 + gas * 4.0)}],
                "supplier_name": supplier, "energy_product_name": "Grid mix"}

    # ---- EVSEs

    def _evses(self, number: int, rng: _Random, site: _Site, operator: Operator, country: _Country,
               location_epoch: int, all_removed: bool, all_planned: bool,
               point: tuple[float, float, int]) -> list[JsonDict]:
        kind = site.kind
        count = rng.between(*site.evses)
        plan: list[int] = []  # 0 = AC, else DC kW
        if kind in ("hub", "motorway"):
            plan = [DC_POWER[kind].pick(rng) for _ in range(count)]
        else:
            plan = [0] * count
            if kind == "supermarket" and rng.random() < 0.4:
                plan += [DC_POWER["supermarket"].pick(rng) for _ in range(rng.between(1, 2))]
        freshest = rng.below(len(plan)) if rng.random() < 0.75 else -1
        key = (operator.key, country.alpha3)
        ac_ids = self._ac_tariffs(rng, operator, country, kind) if 0 in plan else []
        dc_ids = self.book.dc[key]
        adhoc = self.book.adhoc[key]
        amperage = 16 if kind in ("garage", "office", "hotel") and rng.random() < 0.6 else 32
        ac_cable = kind != "street" and rng.random() < 0.1
        terms = f"{operator.website}/terms" if operator.terms else None
        evses = []
        for position, power in enumerate(plan, start=1):
            epoch = location_epoch if position - 1 == freshest else location_epoch - rng.below(14 * DAY)
            updated = _ts(epoch)

            def connector_time(evse_epoch: int = epoch, evse_updated: str = updated) -> str:
                return evse_updated if rng.random() < 0.4 else _ts(evse_epoch - rng.below(90 * DAY))

            card = rng.random() < (0.8 if power else 0.1)
            if power:
                voltage, max_amperage = CCS[power]
                tariffs = [*dc_ids, adhoc] if card else list(dc_ids)
                connectors = [_connector("1", "IEC_62196_T2_COMBO", "CABLE", "DC", voltage, max_amperage, power * 1000,
                                         tariffs, terms, connector_time())]
                if power == 50 and rng.random() < 0.55:
                    # The classic 50 kW triple charger: CCS, CHAdeMO and, on some, a 43 kW AC cable.
                    connectors.append(_connector("2", "CHADEMO", "CABLE", "DC", 500, 125, 50_000, list(tariffs), terms,
                                                 connector_time()))
                    if rng.random() < 0.4:
                        connectors.append(_connector("3", "IEC_62196_T2", "CABLE", "AC_3_PHASE", 230, 63, 230 * 63 * 3,
                                                     list(tariffs), terms, connector_time()))
            else:
                tariffs = [*ac_ids, adhoc] if card else list(ac_ids)
                connectors = [_connector("1", "IEC_62196_T2", "CABLE" if ac_cable else "SOCKET", "AC_3_PHASE", 230,
                                         amperage, 230 * amperage * 3, tariffs, terms, connector_time())]
                if not ac_cable and country.alpha3 in ("DEU", "NLD", "AUT", "DNK", "NOR", "SWE") and rng.random() < 0.03:
                    connectors.append(_connector("2", "DOMESTIC_F", "SOCKET", "AC_1_PHASE", 230, 16, 3680, list(tariffs),
                                                 terms, connector_time()))
            reservable = operator.reservations and rng.random() < 0.35
            if all_removed:
                status = "REMOVED"
            elif all_planned:
                status = "PLANNED"
            else:
                status = STATUS.pick(rng)
                if status == "RESERVED" and not reservable:
                    status = "AVAILABLE"
            capabilities = []
            if power >= 150 and rng.random() < 0.3 or rng.random() < 0.08:
                capabilities.append("CHARGING_PROFILE_CAPABLE")
            if card:
                capabilities += ["CONTACTLESS_CARD_SUPPORT", "CREDIT_CARD_PAYABLE"]
                if rng.random() < 0.5:
                    capabilities.append("DEBIT_CARD_PAYABLE")
                if rng.random() < 0.2:
                    capabilities.append("PED_TERMINAL")
            if rng.random() < 0.92:
                capabilities.append("REMOTE_START_STOP_CAPABLE")
            if reservable:
                capabilities.append("RESERVABLE")
            if rng.random() < 0.88:
                capabilities.append("RFID_READER")
            if len(connectors) > 1 and rng.random() < 0.6 or rng.random() < 0.01:
                capabilities.append("START_SESSION_CONNECTOR_REQUIRED")
            if not power and not ac_cable and rng.random() < 0.5:
                capabilities.append("UNLOCK_CAPABLE")

            evse: JsonDict = {"uid": f"E{number:07d}-{position}"}
            if status != "REMOVED" or rng.random() < 0.5:
                evse["evse_id"] = f"{self.country_code}*{self.party_id}*E{number:07d}*{position}"
            evse["status"] = status
            if status == "PLANNED":
                opening = self.base_date + dt.timedelta(days=rng.between(10, 90))
                evse["status_schedule"] = [{"period_begin": f"{opening.isoformat()}T06:00:00Z", "status": "AVAILABLE"}]
            elif status == "OUTOFORDER" and rng.random() < 0.3:
                evse["status_schedule"] = [{"period_begin": updated, "period_end": _ts(self.base + rng.between(1, 7) * DAY),
                                            "status": "OUTOFORDER"}]
            if capabilities:  # an old post without RFID reader or backend control has none
                evse["capabilities"] = capabilities
            evse["connectors"] = connectors
            if kind == "garage":
                evse["floor_level"] = rng.pick(("-2", "-1", "-1", "0", "1"))
            if kind in ("hub", "motorway", "station") and rng.random() < 0.15:
                # Large sites locate each EVSE, a few metres from the site's point.
                latitude, longitude, decimals = point
                evse["coordinates"] = {"latitude": f"{latitude + (rng.random() - 0.5) * 0.0004:.{decimals}f}",
                                       "longitude": f"{longitude + (rng.random() - 0.5) * 0.0006:.{decimals}f}"}
            evse["physical_reference"] = f"{operator.key}-{position:02d}" if operator.key in ("FL", "NC") else str(position)
            if kind in ("street", "supermarket", "station") and rng.random() < 0.3:
                evse["parking_restrictions"] = ["EV_ONLY"]
            elif kind == "hotel":
                evse["parking_restrictions"] = ["CUSTOMERS"]
            elif kind == "supermarket" and rng.random() < 0.2:
                evse["parking_restrictions"] = ["CUSTOMERS", "EV_ONLY"]
            evse["last_updated"] = updated
            evses.append(evse)
        return evses

    def _ac_tariffs(self, rng: _Random, operator: Operator, country: _Country, kind: str) -> list[str]:
        key = (operator.key, country.alpha3)
        special = None
        if operator.key == "VW" and kind == "hotel" and country.currency == "EUR" and rng.random() < 0.4:
            special = "VW-FREE"
        elif key == ("VW", "DEU") and kind == "street" and rng.random() < 0.3:
            special = "VW-DE-MIN"
        elif key == ("SW", "DEU") and kind == "garage" and rng.random() < 0.7:
            special = "SW-DE-PARK"
        elif key == ("GP", "NLD") and kind == "street" and rng.random() < 0.35:
            special = "GP-NL-TIME"
        elif key == ("GP", "NLD") and kind in ("supermarket", "garage") and rng.random() < 0.3:
            special = "GP-NL-COMPLEX"
        elif key == ("NC", "NOR") and rng.random() < 0.3:
            special = "NC-NO-NIGHT"
        if special is not None:
            return list(self.book.special[special])
        return list(self.book.ac[key])


# --------------------------------------------------------------------------- the network


@dataclass(frozen=True)
class StatusChange:
    """One EVSE status change, ready to be pushed as ``PATCH {locations}/{cc}/{party}/{path}``."""

    location_id: str
    evse_uid: str
    status: str
    at: dt.datetime
    previous_status: str = ""

    @property
    def last_updated(self) -> str:
        return _ts(_epoch(self.at))

    @property
    def path(self) -> str:
        return f"{self.location_id}/{self.evse_uid}"

    def patch_body(self) -> JsonDict:
        return {"status": self.status, "last_updated": self.last_updated}


class _Paged:
    """One object list served page by page: creation order, `last_updated` index, JSON cache."""

    def __init__(self, objects: list[JsonDict]) -> None:
        self.objects = objects
        self.rebuild()

    def rebuild(self) -> None:
        objects = self.objects
        self.count = len(objects)
        self.position = {obj["id"].casefold(): index for index, obj in enumerate(objects)}
        self.stamps = [obj["last_updated"] for obj in objects]
        self.by_time = sorted(zip(self.stamps, range(self.count), strict=True))
        self.encoded: list[bytes | None] = [None] * self.count
        self.views: dict[tuple[str | None, str | None], list[int]] = {}

    def ensure_fresh(self) -> None:
        # The list itself was edited (an object appended or popped): index it again.
        if len(self.objects) != self.count:
            self.rebuild()

    def touch(self, index: int, stamp: str) -> None:
        old = self.stamps[index]
        self.encoded[index] = None
        if old != stamp:
            where = bisect.bisect_left(self.by_time, (old, index))
            del self.by_time[where]
            bisect.insort(self.by_time, (stamp, index))
            self.stamps[index] = stamp
            self.views.clear()

    def view(self, low: str | None, high: str | None) -> list[int] | range:
        if low is None and high is None:
            return range(self.count)
        key = (low, high)
        cached = self.views.get(key)
        if cached is None:
            start = 0 if low is None else bisect.bisect_left(self.by_time, (low, -1))
            end = len(self.by_time) if high is None else bisect.bisect_left(self.by_time, (high, -1))
            cached = sorted(index for _, index in self.by_time[start:end]) if start < end else []
            if len(self.views) >= 64:
                self.views.clear()
            self.views[key] = cached
        return cached

    def page(self, offset: int, limit: int, date_from: dt.datetime | None, date_to: dt.datetime | None) -> tuple[list[int], int]:
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must not be negative")
        self.ensure_fresh()
        matching = self.view(_bound(date_from), _bound(date_to))
        return list(matching[offset : offset + limit]), len(matching)

    def encode(self, index: int) -> bytes:
        encoded = self.encoded[index]
        if encoded is None:
            encoded = json.dumps(self.objects[index], ensure_ascii=False, separators=(",", ":")).encode()
            self.encoded[index] = encoded
        return encoded


class Network:
    """A simulated CPO network: Locations and Tariffs as OCPI 2.2.1 JSON dicts (see module doc)."""

    def __init__(self, *, locations: list[JsonDict], tariffs: list[JsonDict], seed: int | None = None,
                 base_time: dt.datetime = DEFAULT_BASE_TIME) -> None:
        self.locations = locations
        self.tariffs = tariffs
        self.seed = seed
        self.base_time = base_time
        self._lock = threading.RLock()
        self._locations = _Paged(locations)
        self._tariffs = _Paged(tariffs)

    def invalidate(self) -> None:
        """Forget indexes and cached JSON: call after editing the dicts or lists by hand."""
        with self._lock:
            self._locations = _Paged(self.locations)
            self._tariffs = _Paged(self.tariffs)

    # ---- lookups

    @property
    def evse_count(self) -> int:
        return sum(len(location["evses"]) for location in self.locations)

    @property
    def connector_count(self) -> int:
        return sum(len(evse["connectors"]) for location in self.locations for evse in location["evses"])

    def location(self, location_id: str) -> JsonDict | None:
        """The Location with this id (CiString: compared case-insensitively), or None."""
        with self._lock:
            paged = self._paged("locations")
            paged.ensure_fresh()
            index = paged.position.get(location_id.casefold())
            return None if index is None else paged.objects[index]

    def evse(self, location_id: str, evse_uid: str) -> JsonDict | None:
        location = self.location(location_id)
        if location is None:
            return None
        wanted = evse_uid.casefold()
        return next((evse for evse in location["evses"] if evse["uid"].casefold() == wanted), None)

    def connector(self, location_id: str, evse_uid: str, connector_id: str) -> JsonDict | None:
        evse = self.evse(location_id, evse_uid)
        if evse is None:
            return None
        wanted = connector_id.casefold()
        return next((c for c in evse["connectors"] if c["id"].casefold() == wanted), None)

    def tariff(self, tariff_id: str) -> JsonDict | None:
        with self._lock:
            paged = self._paged("tariffs")
            paged.ensure_fresh()
            index = paged.position.get(tariff_id.casefold())
            return None if index is None else paged.objects[index]

    def location_bytes(self, location_id: str) -> bytes | None:
        """The Location as compact UTF-8 JSON, cached until it changes."""
        with self._lock:
            paged = self._paged("locations")
            paged.ensure_fresh()
            index = paged.position.get(location_id.casefold())
            return None if index is None else paged.encode(index)

    # ---- paging (Sender interface)

    def locations_page(self, *, offset: int, limit: int, date_from: dt.datetime | None = None,
                       date_to: dt.datetime | None = None) -> tuple[list[JsonDict], int]:
        """Locations with ``date_from <= last_updated < date_to``, creation order: (page, total)."""
        return self._page("locations", offset, limit, date_from, date_to)

    def tariffs_page(self, *, offset: int, limit: int, date_from: dt.datetime | None = None,
                     date_to: dt.datetime | None = None) -> tuple[list[JsonDict], int]:
        """Tariffs with ``date_from <= last_updated < date_to``, creation order: (page, total)."""
        return self._page("tariffs", offset, limit, date_from, date_to)

    def locations_page_bytes(self, *, offset: int, limit: int, date_from: dt.datetime | None = None,
                             date_to: dt.datetime | None = None) -> tuple[bytes, int]:
        """Like :meth:`locations_page`, the page as a compact UTF-8 JSON array (pre-serialised objects)."""
        return self._page_bytes("locations", offset, limit, date_from, date_to)

    def tariffs_page_bytes(self, *, offset: int, limit: int, date_from: dt.datetime | None = None,
                           date_to: dt.datetime | None = None) -> tuple[bytes, int]:
        """Like :meth:`tariffs_page`, the page as a compact UTF-8 JSON array."""
        return self._page_bytes("tariffs", offset, limit, date_from, date_to)

    def _paged(self, kind: str) -> _Paged:
        # `network.locations = [...]` replaces the list: from now on serve the new one.
        if self._locations.objects is not self.locations or self._tariffs.objects is not self.tariffs:
            self.invalidate()
        return self._locations if kind == "locations" else self._tariffs

    def _page(self, kind: str, offset: int, limit: int, date_from: dt.datetime | None,
              date_to: dt.datetime | None) -> tuple[list[JsonDict], int]:
        with self._lock:
            paged = self._paged(kind)
            indices, total = paged.page(offset, limit, date_from, date_to)
            return [paged.objects[index] for index in indices], total

    def _page_bytes(self, kind: str, offset: int, limit: int, date_from: dt.datetime | None,
                    date_to: dt.datetime | None) -> tuple[bytes, int]:
        with self._lock:
            paged = self._paged(kind)
            indices, total = paged.page(offset, limit, date_from, date_to)
            return b"[" + b",".join([paged.encode(index) for index in indices]) + b"]", total

    def warm(self) -> None:
        """Pre-serialise every object now, so that even the first page costs no encoding."""
        with self._lock:
            for paged in (self._paged("locations"), self._paged("tariffs")):
                paged.ensure_fresh()
                for index in range(paged.count):
                    paged.encode(index)

    # ---- mutation

    def change_statuses(self, fraction: float, *, at: dt.datetime, rng_seed: int) -> list[StatusChange]:
        """Give ``fraction`` (0..1) of the live EVSEs a new status, as of ``at``.

        Live = not ``REMOVED``; nothing changes to or from ``REMOVED``, ``RESERVED`` only on
        reservable EVSEs, ``PLANNED`` only goes to ``AVAILABLE``. A fraction > 0 changes at least
        one EVSE. Each changed EVSE's ``last_updated`` becomes ``at`` (whole seconds, UTC) and so
        does its Location's (unless the Location is already newer: ``at`` should be "now").
        Same network state + same ``rng_seed`` ⇒ same changes. Returned in network order.
        """
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        rng = random.Random(rng_seed)
        epoch = _epoch(at)
        stamp = _ts(epoch)
        at_utc = dt.datetime.fromtimestamp(epoch, dt.UTC)
        with self._lock:
            locations = self._paged("locations")
            locations.ensure_fresh()
            live = [
                (index, evse)
                for index, location in enumerate(self.locations)
                for evse in location["evses"]
                if evse["status"] != "REMOVED"
            ]
            count = round(fraction * len(live))
            if fraction > 0 and live:
                count = max(1, count)
            chosen = sorted(rng.sample(range(len(live)), count))
            changes = []
            for pick in chosen:
                index, evse = live[pick]
                location = self.locations[index]
                previous = evse["status"]
                transitions = TRANSITIONS.get(previous, TRANSITIONS["UNKNOWN"])
                status = transitions.pick(rng)  # never `previous`: no table lists its own status
                if status == "RESERVED" and "RESERVABLE" not in evse.get("capabilities", ()):
                    status = "CHARGING"  # only AVAILABLE leads to RESERVED
                evse["status"] = status
                evse["last_updated"] = stamp
                location["last_updated"] = max(location["last_updated"], stamp)
                locations.touch(index, location["last_updated"])
                changes.append(StatusChange(location["id"], evse["uid"], status, at_utc, previous))
            return changes

    # ---- figures

    def summary(self) -> dict[str, Any]:
        """Counts for logs and benchmarks: locations, EVSEs, connectors, tariffs, statuses."""
        statuses: dict[str, int] = {}
        for location in self.locations:
            for evse in location["evses"]:
                statuses[evse["status"]] = statuses.get(evse["status"], 0) + 1
        return {
            "locations": len(self.locations),
            "evses": sum(statuses.values()),
            "connectors": self.connector_count,
            "tariffs": len(self.tariffs),
            "statuses": dict(sorted(statuses.items())),
        }


def build_network(*, locations: int, seed: int, country_code: str = "DE", party_id: str = "SIM",
                  base_time: dt.datetime | None = None) -> Network:
    """Build the network of ``locations`` Locations for ``seed`` (see the module's contract)."""
    if locations < 0:
        raise ValueError("locations must not be negative")
    base_time = base_time or DEFAULT_BASE_TIME
    if base_time.tzinfo is None:
        base_time = base_time.replace(tzinfo=dt.UTC)
    base = _epoch(base_time)
    # Separate streams: the tariffs do not shift when the number of locations changes.
    tariffs, book = _build_tariffs(random.Random(f"tariffs:{seed}"), country_code, party_id, base)
    builder = _Builder(seed=seed, country_code=country_code, party_id=party_id, base=base, book=book)
    # Millions of new dicts and lists, none of them garbage: with the cyclic GC on, it rescans the
    # growing network again and again (3x the build time). Paused, the network sits in the
    # youngest generation afterwards and the next few collections would each walk all of it
    # (~1 s for 50,000 locations) at some random later moment, e.g. during a page request; one
    # collection now moves it to the oldest generation, which is rarely collected.
    collecting = gc.isenabled()
    gc.disable()
    try:
        result = [builder.location(number) for number in range(locations)]
        network = Network(locations=result, tariffs=tariffs, seed=seed, base_time=base_time)
    finally:
        if collecting:
            gc.enable()
    if collecting and locations >= 5000:
        gc.collect()
    return network
