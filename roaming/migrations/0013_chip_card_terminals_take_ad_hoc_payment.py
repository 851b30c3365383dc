"""A payment terminal that reads chip cards (CHIP_CARD_SUPPORT) is one a driver can pay at without
a contract: Locations stored before it counted are set right. A pull that re-sends an unchanged
Location writes nothing, so without this they would stay wrong until the CPO changed them."""

from __future__ import annotations

from django.db import migrations


def count_chip_card_terminals(apps, schema_editor):  # type: ignore[no-untyped-def]
    EVSE = apps.get_model("roaming", "EVSE")
    Location = apps.get_model("roaming", "Location")
    locations = {
        location_id
        for location_id, capabilities in EVSE.objects.exclude(status="REMOVED").values_list("location_id", "capabilities").iterator()
        if "CHIP_CARD_SUPPORT" in (capabilities or [])
    }
    ordered = sorted(locations)
    for start in range(0, len(ordered), 500):
        Location.objects.filter(pk__in=ordered[start : start + 500], ad_hoc_payment_capable=False).update(ad_hoc_payment_capable=True)


class Migration(migrations.Migration):
    dependencies = [("roaming", "0012_objects_no_longer_listed")]

    operations = [migrations.RunPython(count_chip_card_terminals, migrations.RunPython.noop)]
