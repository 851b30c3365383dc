"""ISO 4217 currencies a price can be paid in, with their minor units.

Pure data, no Django: the OCPI wire models check a tariff's `currency` against it, and the tariff
engine rounds to its minor units. Source: ISO 4217 list one (the SIX maintenance agency), as of
2025. Left out on purpose, because no price is paid in them: the funds and units of account (BOV,
CHE, CHW, CLF, COU, MXV, USN, UYI, UYW), precious metals, the SDR and the X codes for testing and
"no currency" (XTS, XXX). Kept although withdrawn, because tariff versions and CDRs from before
the change still carry them: BGN (the euro since 2026), HRK (2023), ANG (XCG since 2025), SLL
(SLE), ZWL (ZWG) and CUC.
"""

from __future__ import annotations

# Minor units (decimals) of every currency but those with two.
_NOT_TWO = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip

_TWO = """
AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF
CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL
HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT
MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB
SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH
USD UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG
BGN HRK ANG SLL ZWL CUC
""".split()  # noqa: SIM905 - 140 codes read better as a block of text than as a list literal

MINOR_UNITS: dict[str, int] = {**dict.fromkeys(_TWO, 2), **_NOT_TWO}


def is_currency(code: str) -> bool:
    """An ISO 4217 code of a currency a price can be paid in (upper case, as ISO writes it)."""
    return code in MINOR_UNITS
