"""Store profiles and Instant Site profiles of the sandbox: what Ecwid's
``GET``/``PUT /api/v3/{storeId}/profile`` and the Instant Site's ``PUT /{storeId}/profile`` serve.

A profile is Ecwid's nested shape (``settings``, ``company``, ``mailNotifications``,
``formatsAndUnits``, ``languages``, and the owner's ``account``). A PUT is a partial update: the
fields it names change, the rest stay. A clone that copies settings (scope absent or
STORE_SETTINGS) copies the source's profile sections into the target, as Ecwid's "store
administrator profile, ... invoice and mail settings"; the owner's account stays. An Instant
Site clone copies the source site's profile.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .refusals import ProfileError

# The sections a clone with settings copies (everything but the owner's account and the store's identity).
SETTINGS_SECTIONS = ("settings", "company", "mailNotifications", "formatsAndUnits", "languages")
STRING_FIELDS = {
    "settings": ("storeName", "storeDescription"),
    "company": ("companyName", "email", "street", "city", "countryCode", "postalCode", "stateOrProvinceCode", "phone"),
    "mailNotifications": ("customerNotificationFromEmail",),
    "formatsAndUnits": ("currency", "weightUnit", "timezone"),
    "languages": ("defaultLanguage",),
}
LIST_FIELDS = {"mailNotifications": ("adminNotificationEmails",), "languages": ("enabledLanguages",)}
SITE_FIELDS = ("storeName", "email", "locale", "countryCode")
# Close to what Ecwid accepts: something@domain.tld, no spaces.
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")
_COUNTRY = re.compile(r"[A-Z]{2}")


def default_profile(store_id: int, owner: dict | None = None) -> dict[str, Any]:
    """A new store's profile: its owner's e-mail where Ecwid puts it, a plain name."""
    email = (owner or {}).get("email") or f"owner{store_id}@example.com"
    return {
        "generalInfo": {"storeId": store_id, "storeUrl": f"https://store{store_id}.company.site"},
        "account": {"accountName": (owner or {}).get("name") or f"Owner {store_id}", "accountEmail": email},
        "settings": {"storeName": "My Store", "storeDescription": ""},
        "company": {"companyName": "", "email": email, "countryCode": "US", "phone": ""},
        "mailNotifications": {"adminNotificationEmails": [email], "customerNotificationFromEmail": email},
        "formatsAndUnits": {"currency": "USD", "weightUnit": "KILOGRAM", "timezone": "UTC"},
        "languages": {"defaultLanguage": "en", "enabledLanguages": ["en"]},
    }


def template_profile(store_id: int) -> dict[str, Any]:
    """The template store's profile: every field a personalized store must not keep is distinctive."""
    profile = default_profile(store_id, {"email": "reseller-admin@template.example", "name": "Template Admin"})
    profile["settings"] = {"storeName": "Template Bakery Co.", "storeDescription": "The reseller's template store"}
    profile["company"] = {
        "companyName": "Template Reseller Ltd.",
        "email": "hello@template.example",
        "street": "1 Template Way",
        "city": "Templeton",
        "countryCode": "US",
        "postalCode": "10001",
        "stateOrProvinceCode": "NY",
        "phone": "+1 555 0100",
    }
    profile["mailNotifications"] = {
        "adminNotificationEmails": ["orders@template.example", "owner@template.example"],
        "customerNotificationFromEmail": "noreply@template.example",
    }
    profile["formatsAndUnits"] = {"currency": "USD", "weightUnit": "POUND", "timezone": "America/New_York"}
    profile["languages"] = {"defaultLanguage": "en", "enabledLanguages": ["en", "es"]}
    return profile


def default_site_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """A store's Instant Site profile, as the store's own starts it."""
    return {
        "storeName": profile["settings"]["storeName"],
        "email": profile["company"]["email"],
        "locale": profile["languages"]["defaultLanguage"],
        "countryCode": profile["company"].get("countryCode", ""),
    }


def copy_settings(source: dict[str, Any], target: dict[str, Any]) -> None:
    """What a clone with settings does: the source's sections replace the target's."""
    for section in SETTINGS_SECTIONS:
        target[section] = copy.deepcopy(source[section])


def apply_update(profile: dict[str, Any], body: Any) -> None:
    """A PUT /profile: check every field given, then change only those (400 when one is wrong)."""
    if not isinstance(body, dict):
        raise ProfileError(400, "Request body must be a JSON object")
    changes: list[tuple[str, str, Any]] = []
    for section, fields in body.items():
        if section not in STRING_FIELDS:
            continue  # what Ecwid does not let one change here (or does not know) is ignored
        if not isinstance(fields, dict):
            raise ProfileError(400, f"Field {section} must be an object")
        for name, value in fields.items():
            changes.append((section, name, _checked(section, name, value)))
    for section, name, value in changes:
        profile[section][name] = value


def apply_site_update(site_profile: dict[str, Any], body: Any) -> None:
    if not isinstance(body, dict):
        raise ProfileError(400, "Request body must be a JSON object")
    for name, value in body.items():
        if name in SITE_FIELDS and not isinstance(value, str):
            raise ProfileError(400, f"Field {name} must be a string")
        if name == "email" and value and not EMAIL.fullmatch(value):
            raise ProfileError(400, f"Field email is not a valid e-mail: {value[:80]!r}")
    site_profile.update({name: value for name, value in body.items() if name in SITE_FIELDS})


def _checked(section: str, name: str, value: Any) -> Any:
    where = f"{section}.{name}"
    if name in LIST_FIELDS.get(section, ()):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ProfileError(400, f"Field {where} must be a list of strings")
        if name == "adminNotificationEmails":
            bad = [item for item in value if not EMAIL.fullmatch(item)]
            if bad:
                raise ProfileError(400, f"Field {where} has an invalid e-mail: {bad[0][:80]!r}")
        return list(value)
    if name not in STRING_FIELDS[section]:
        raise ProfileError(400, f"Unknown field {where}")
    if not isinstance(value, str):
        raise ProfileError(400, f"Field {where} must be a string")
    if name == "email" and value and not EMAIL.fullmatch(value):
        raise ProfileError(400, f"Field {where} is not a valid e-mail: {value[:80]!r}")
    if name == "countryCode" and value and not _COUNTRY.fullmatch(value):
        raise ProfileError(400, f"Field {where} must be an ISO 3166-1 alpha-2 code, got {value[:10]!r}")
    return value
