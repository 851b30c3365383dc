"""Partners' outbound tokens are encrypted in the database (roaming.models.fields)."""

from __future__ import annotations

import logging

import pytest
from django.db import connection

from roaming.models import Partner
from roaming.models.fields import PREFIX, encrypt_token
from tests.roaming.factories import PartnerFactory

pytestmark = pytest.mark.django_db

TOKEN = "c-token-we-send-to-the-cpo-0123456789"


def _stored(partner: Partner) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT outbound_token FROM roaming_partner WHERE id = %s", [partner.pk])
        return cursor.fetchone()[0]


def test_the_column_holds_ciphertext_and_the_model_the_token():
    partner = PartnerFactory(outbound_token=TOKEN)
    stored = _stored(partner)
    assert stored.startswith(PREFIX) and TOKEN not in stored
    assert Partner.objects.get(pk=partner.pk).outbound_token == TOKEN
    assert Partner.objects.filter(pk=partner.pk).values_list("outbound_token", flat=True).get() == TOKEN
    other = PartnerFactory(outbound_token=TOKEN)
    assert _stored(other) != stored  # a random IV: equal tokens do not show as equal
    partner.outbound_token = ""
    partner.save()
    assert _stored(partner) == ""  # no token: nothing to hide


def test_a_value_stored_before_encryption_still_reads_and_is_encrypted_when_saved_again():
    partner = PartnerFactory(outbound_token="")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE roaming_partner SET outbound_token = %s WHERE id = %s", [TOKEN, partner.pk])
    legacy = Partner.objects.get(pk=partner.pk)
    assert legacy.outbound_token == TOKEN
    legacy.save()
    assert _stored(legacy).startswith(PREFIX) and Partner.objects.get(pk=partner.pk).outbound_token == TOKEN


def test_a_changed_secret_key_reads_through_the_fallbacks_and_a_lost_key_reads_as_no_token(settings, caplog):
    partner = PartnerFactory(outbound_token=TOKEN)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-the-rotation-test-0123456789"
    assert Partner.objects.get(pk=partner.pk).outbound_token == TOKEN  # the former key, as a fallback
    settings.SECRET_KEY_FALLBACKS = []
    with caplog.at_level(logging.ERROR, logger="roaming.models.fields"):
        lost = Partner.objects.get(pk=partner.pk)
    assert lost.outbound_token == ""
    assert "DJANGO_SECRET_KEY_FALLBACKS" in caplog.text and TOKEN not in caplog.text
    # Saved again under the new key, it reads without the fallback.
    lost.outbound_token = TOKEN
    lost.save()
    assert Partner.objects.get(pk=partner.pk).outbound_token == TOKEN
    assert encrypt_token("") == ""
