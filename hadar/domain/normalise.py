"""Normalisation of what portals and people type: phones, e-mails, sources, UTMs."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

DEFAULT_REGION = "AE"

CANONICAL_SOURCES = (
    "bayut",
    "property_finder",
    "dubizzle",
    "website",
    "whatsapp",
    "referral",
    "walk_in",
    "facebook",
    "instagram",
    "google",
    "other",
)

_SOURCE_ALIASES = {
    "bayut": "bayut",
    "propertyfinder": "property_finder",
    "pf": "property_finder",
    "dubizzle": "dubizzle",
    "website": "website",
    "web": "website",
    "whatsapp": "whatsapp",
    "wa": "whatsapp",
    "referral": "referral",
    "walkin": "walk_in",
    "facebook": "facebook",
    "fb": "facebook",
    "instagram": "instagram",
    "ig": "instagram",
    "google": "google",
    "googleads": "google",
    "other": "other",
}
_DOMAIN_SUFFIX = re.compile(r"\.(com|ae|net|org)(\.ae)?$")
UTM_KEYS = ("source", "medium", "campaign", "term", "content")


def normalise_phone(raw: str) -> str:
    """E.164 form of `raw`, reading local numbers as UAE ones; ValueError when it is no number."""
    try:
        parsed = phonenumbers.parse(raw, DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("must be a valid phone number") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("must be a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    """The address with its domain lower-cased; ValueError when it is not a valid address."""
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError("must be a valid email address") from exc
    return result.normalized


def normalise_source(raw: str) -> tuple[str, str | None]:
    """(canonical source, raw value kept when it is not one we recognise)."""
    text = raw.strip().lower()
    text = re.sub(r"^(https?://)?(www\.)?", "", text).rstrip("/")
    text = _DOMAIN_SUFFIX.sub("", text)
    key = re.sub(r"[^a-z0-9]", "", text)
    canonical = _SOURCE_ALIASES.get(key)
    if canonical is None:
        return "other", raw
    return canonical, None


def check_utm_keys(raw: dict[str, str]) -> None:
    """ValueError unless every key is a UTM parameter (`utm_source` or `source`, …)."""
    for key in raw:
        if key.lower().removeprefix("utm_") not in UTM_KEYS:
            raise ValueError(
                f"has unknown key {key!r}; use utm_source, utm_medium, utm_campaign, utm_term "
                "or utm_content (the utm_ prefix is optional)"
            )


def utm_source(utm: dict[str, str]) -> str | None:
    """The source a UTM object names, however its key is spelt (`utm_source`, `UTM_Source`,
    `source`): the keys are kept as sent, so the lookup, not the data, ignores case."""
    by_name = {key.lower(): value for key, value in utm.items()}
    return by_name.get("utm_source") or by_name.get("source")
