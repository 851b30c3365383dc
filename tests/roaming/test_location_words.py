"""A location's opening hours in words and its times in the charger's own zone (what staff read
on its page now and drivers on the charger page later)."""

from __future__ import annotations

import datetime as dt

import pytest

from roaming.selectors import describe_opening_times, local_time


def _week(days, begin: str, end: str) -> list[dict]:
    return [{"weekday": day, "period_begin": begin, "period_end": end} for day in days]


@pytest.mark.parametrize(
    ("hours", "words"),
    [
        ({"twentyfourseven": True}, "Open 24/7."),
        (
            {"twentyfourseven": False, "regular_hours": _week(range(1, 6), "08:00", "20:00") + _week([6], "09:00", "14:00")},
            "Mon–Fri 08:00–20:00; Sat 09:00–14:00; Sun closed.",
        ),
        (  # split hours, listed out of order, and days that differ in the middle of the week
            {"twentyfourseven": False, "regular_hours": _week([1, 2, 4, 5, 6, 7], "13:00", "18:00") + _week(range(1, 8), "08:00", "12:00")},
            "Mon–Tue 08:00–12:00, 13:00–18:00; Wed 08:00–12:00; Thu–Sun 08:00–12:00, 13:00–18:00.",
        ),
        (None, "Opening hours not published."),
    ],
)
def test_opening_hours_in_words(hours, words):
    assert describe_opening_times(hours, "Europe/Berlin") == words


def test_exceptional_periods_are_shown_in_the_chargers_time_the_fourth_one_counted():
    closings = [  # OCPI sends them in UTC: Christmas in Berlin starts at 23:00 UTC the day before
        {"period_begin": "2026-12-24T23:00:00Z", "period_end": "2026-12-26T23:00:00Z"},
        {"period_begin": "2026-07-01T06:00:00Z", "period_end": "2026-07-01T10:00:00Z"},  # summer time: 08:00–12:00
        {"period_begin": "2026-01-01T00:00:00Z", "period_end": "2026-01-01T01:00:00Z"},
        {"period_begin": "2026-02-01T00:00:00Z", "period_end": "2026-02-01T01:00:00Z"},
    ]
    words = describe_opening_times(
        {"twentyfourseven": True, "exceptional_openings": [], "exceptional_closings": closings}, "Europe/Berlin"
    )
    assert words == (
        "Open 24/7. Closed 25 Dec 2026 00:00 – 27 Dec 2026 00:00, 1 Jul 2026 08:00–12:00, 1 Jan 2026 01:00–02:00 and 1 more."
    )


@pytest.mark.parametrize(
    ("moment", "zone", "shown"),
    [
        (dt.datetime(2026, 10, 29, 6, 41, tzinfo=dt.UTC), "Europe/Berlin", "29 Oct 2026, 07:41 CET (06:41 UTC)"),
        (dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC), "Europe/Berlin", "29 Mar 2026, 03:30 CEST (01:30 UTC)"),  # an hour after the change
        (dt.datetime(2026, 1, 5, 6, 41, tzinfo=dt.UTC), "Europe/London", "5 Jan 2026, 06:41 GMT"),  # UTC then: not repeated
        (dt.datetime(2026, 1, 5, 6, 41, tzinfo=dt.UTC), "Not/AZone", "5 Jan 2026, 06:41 UTC"),  # an old row: shown in UTC
        (None, "Europe/Berlin", "—"),
    ],
)
def test_times_are_shown_as_read_at_the_charger(moment, zone, shown):
    assert local_time(moment, zone) == shown
