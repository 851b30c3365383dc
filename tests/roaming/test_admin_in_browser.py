"""Staff run the roaming side in a real browser (headless Chromium): sign in, find the tariffs a
partner's chargers name that we lack, start a full pull from the partners list, follow it to its
sync run, see a charger on the map; on a desktop and on a phone. Over real HTTP: our live server
and the CPO simulator; Celery runs the queued pull in the request (eager), as a worker would."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from roaming import selectors
from roaming.models import Location, Tariff
from roaming.services.sync import sync_module

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-correct-horse-42"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def _eager(eager_tasks):
    pass


@pytest.fixture
def operator(django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("ops", "ops@example.com", PASSWORD, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_partner", "change_partner", "view_syncrun", "view_location", "view_tariff"])
    )
    return user


def sign_in(page, user) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))


def _inside_the_list(page, element) -> bool:
    """Whether `element` shows whole inside the changelist's own horizontal scroll box."""
    return page.evaluate(
        "(cell) => { const box = cell.closest('.results').getBoundingClientRect(), c = cell.getBoundingClientRect();"
        " return c.left >= box.left && c.right <= box.right + 1; }",
        element.element_handle(),
    )


def test_staff_bring_back_missing_tariffs_with_a_full_pull_from_the_partners_list(
    browser_page, partner, network, operator, page_limit
):
    page = browser_page
    sync_module(partner=partner, module="locations", full=True)  # the tariffs never came
    missing = selectors.missing_tariffs(partner.pk)
    assert missing.tariffs > 0
    sign_in(page, operator)

    page.goto(f"/admin/roaming/partner/{partner.pk}/change/")
    assert f"{missing.tariffs} tariff(s), named by {missing.connectors:,} connectors, which show drivers no price" in page.inner_text(
        "body"
    )

    page.goto("/admin/roaming/partner/")
    page.check(f"input[name=_selected_action][value='{partner.pk}']")
    page.select_option("select[name=action]", "full_pull_now")
    page.click("button[name=index]")
    message = page.locator("ul.messagelist li.success")
    assert "a full pull of its locations and tariffs is queued" in message.inner_text()

    message.get_by_role("link", name="Its sync runs").click()
    page.wait_for_url(re.compile(r"/admin/roaming/syncrun/\?partner__id__exact="))
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 3  # the first locations pull, then the full pull of both modules
    newest = rows.nth(0).inner_text().split("\t")
    assert newest[:2] == [f"{partner}: tariffs, full", "Succeeded"]
    pages = -(-len(network.tariffs) // page_limit)
    assert f"{len(network.tariffs):,} stored, 0 quarantined ({pages} pages)" in newest
    assert _inside_the_list(page, rows.nth(0).locator("td").last), "the run's last column is cut off by the list's scroll box"
    assert Tariff.objects.filter(partner=partner).count() == len(network.tariffs)

    page.goto(f"/admin/roaming/partner/{partner.pk}/change/")
    assert "None: we hold every tariff its chargers name." in page.inner_text("body")


def test_the_roaming_pages_work_on_a_phone(browser_page, partner, operator):
    page = browser_page
    page.set_viewport_size(PHONE)
    sync_module(partner=partner, module="locations", full=True)
    location = Location.objects.order_by("pk").first()
    sign_in(page, operator)

    for path in ("/admin/roaming/partner/", f"/admin/roaming/partner/{partner.pk}/change/", "/admin/roaming/syncrun/",
                 "/admin/roaming/location/", f"/admin/roaming/location/{location.pk}/change/"):
        page.goto(path)
        # The page never scrolls sideways (a table may, inside its own box); if it does, say what sticks out.
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth <= window.innerWidth ? [] :"
            " [...document.querySelectorAll('body *')].filter(e => !e.closest('.leaflet-container, .results'))"
            ".map(e => [e.tagName + (e.id ? '#' + e.id : ''), Math.round(e.getBoundingClientRect().right)])"
            ".filter(([, right]) => right > window.innerWidth + 1).slice(0, 5).concat([['scrollWidth', document.documentElement.scrollWidth]])"
        )
        assert overflow == [], f"{path}: wider than a phone: {overflow}"
        if path == "/admin/roaming/partner/":
            assert page.locator("#result_list").is_visible()


def test_staff_see_a_charger_on_the_map_with_its_hours_and_times_in_its_own_zone(browser_page, partner, network, operator):
    from django.contrib.auth.models import Permission

    page = browser_page
    operator.user_permissions.add(Permission.objects.get(codename="view_evse"))
    sync_module(partner=partner, module="locations", full=True)
    location = Location.objects.filter(time_zone="Europe/Berlin").order_by("pk").first()
    sign_in(page, operator)

    page.goto(f"/admin/roaming/location/{location.pk}/change/")

    page.locator("[data-charger-map] .leaflet-marker-icon").wait_for(state="visible")
    centre = page.evaluate("() => { const c = document.querySelector('[data-charger-map]').chargerMap.getCenter(); return [c.lat, c.lng]; }")
    assert centre == pytest.approx([location.point.y, location.point.x], abs=1e-6)
    text = page.inner_text("body")
    assert selectors.describe_opening_times(location.opening_times, "Europe/Berlin") in text
    local = location.last_updated.astimezone(ZoneInfo("Europe/Berlin"))
    assert f"{local:%H:%M} {local.tzname()} ({location.last_updated.astimezone(dt.UTC):%H:%M} UTC)" in text
    evses = page.locator(".inline-related tbody tr.has_original, .inline-related tbody tr.form-row")
    assert evses.count() == location.evses.count()
    assert " kW" in evses.first.inner_text()


def test_staff_read_why_an_object_was_quarantined_without_scrolling(browser_page, partner, operator):
    from django.contrib.auth.models import Permission

    from roaming.models import QuarantinedObject

    page = browser_page
    operator.user_permissions.add(Permission.objects.get(codename="view_quarantinedobject"))
    reason = "coordinates.latitude: '55.33' is not a latitude in decimal degrees with 5 to 7 decimals; " * 2
    QuarantinedObject.objects.create(partner=partner, module="locations", object_id="6192f7e0-d802-4b0a-bf2e-7e7d0cd694fd", reason=reason)
    sign_in(page, operator)

    page.goto("/admin/roaming/quarantinedobject/")

    cell = page.locator("#result_list tbody tr").first.get_by_text("coordinates.latitude", exact=False)
    assert _inside_the_list(page, cell), "the reason is cut off by the list's own scroll box"
