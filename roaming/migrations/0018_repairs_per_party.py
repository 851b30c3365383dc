"""A repair record per object of a party: a hub's two CPOs may both send a LOC1, and the second's
record replaced the first's. Records kept so far get their party from the object as sent."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def party_text(raw: Any) -> str:
    """As roaming.services.network.party_text did when this was written."""
    if not isinstance(raw, dict):
        return ""
    country, party = (raw.get(name) for name in ("country_code", "party_id"))
    country = country.strip().upper() if isinstance(country, str) else ""
    party = party.strip().upper() if isinstance(party, str) else ""
    return f"{country}*{party}"[:8] if country or party else ""


def fill_parties(apps, schema_editor):  # type: ignore[no-untyped-def]
    RepairedObject = apps.get_model("roaming", "RepairedObject")
    filled = []
    for record in RepairedObject.objects.exclude(object_id="").only("pk", "raw").iterator():
        record.party = party_text(record.raw)
        filled.append(record)
    RepairedObject.objects.bulk_update(filled, ["party"], batch_size=500)


def keep_the_latest_per_object(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Back to one record per object id: the latest of those of its parties."""
    RepairedObject = apps.get_model("roaming", "RepairedObject")
    seen, older = set(), []
    for pk, partner, module, object_id in RepairedObject.objects.order_by("-received_at", "-id").values_list(
        "pk", "partner_id", "module", "object_id"
    ):
        if (partner, module, object_id) in seen:
            older.append(pk)
        seen.add((partner, module, object_id))
    RepairedObject.objects.filter(pk__in=older).delete()


class Migration(migrations.Migration):
    dependencies = [("roaming", "0017_withdrawals_of_deleted_tariffs")]

    operations = [
        migrations.RemoveConstraint(model_name="repairedobject", name="one_repair_record_per_object"),
        migrations.AddField(
            model_name="repairedobject",
            name="party",
            field=models.CharField(blank=True, default="", help_text="country code*party id, as the object says", max_length=8),
        ),
        migrations.RunPython(fill_parties, keep_the_latest_per_object),
        migrations.AddConstraint(
            model_name="repairedobject",
            constraint=models.UniqueConstraint(fields=("partner", "module", "party", "object_id"), name="one_repair_record_per_party_object"),
        ),
    ]
