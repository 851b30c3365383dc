"""Partners' outbound tokens are encrypted in the database (see roaming.models.fields)."""

from django.db import migrations

import roaming.models.fields


def encrypt_existing(apps, schema_editor):
    # The field reads a value stored before encryption as it is and encrypts what it writes.
    Partner = apps.get_model("roaming", "Partner")
    for pk, token in Partner.objects.using(schema_editor.connection.alias).exclude(outbound_token="").values_list("pk", "outbound_token"):
        Partner.objects.using(schema_editor.connection.alias).filter(pk=pk).update(outbound_token=token)


def decrypt_existing(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, outbound_token FROM roaming_partner WHERE outbound_token <> ''")
        for pk, stored in cursor.fetchall():
            plain = roaming.models.fields.decrypt_token(stored)
            cursor.execute("UPDATE roaming_partner SET outbound_token = %s WHERE id = %s", [plain[:64], pk])


class Migration(migrations.Migration):
    dependencies = [("roaming", "0004_spatialite_lean_point_triggers")]

    operations = [
        migrations.AlterField(
            model_name="partner",
            name="outbound_token",
            field=roaming.models.fields.EncryptedTokenField(blank=True, editable=False, max_length=255),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing),
    ]
