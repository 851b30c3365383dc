"""Tariffs deleted before withdrawals were recorded: each one's open withdrawal, from its deleted_at,
so that `Tariff.version_at` does not price a session after the DELETE with the deleted tariff."""

from __future__ import annotations

from django.db import migrations


def record_open_withdrawals(apps, schema_editor):  # type: ignore[no-untyped-def]
    Tariff = apps.get_model("roaming", "Tariff")
    TariffWithdrawal = apps.get_model("roaming", "TariffWithdrawal")
    TariffWithdrawal.objects.bulk_create(
        [
            TariffWithdrawal(tariff_id=pk, withdrawn_at=deleted_at)
            for pk, deleted_at in Tariff.objects.filter(deleted_at__isnull=False).values_list("pk", "deleted_at").iterator()
        ],
        batch_size=500,
    )


class Migration(migrations.Migration):
    dependencies = [("roaming", "0016_tariff_withdrawals")]

    operations = [migrations.RunPython(record_open_withdrawals, migrations.RunPython.noop)]
