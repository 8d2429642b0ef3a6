"""What users send to start a clone (api/launcher.py makes a request one execution).

Both entry points (the HTTP API and the SQS signup queue) validate with these
models and start clones through ``CloneLauncher``: the execution name is the
clone ID derived from the request, so a repeated request finds the clone it
already started instead of starting a second one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    IPvAnyAddress,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from ecwid_cloner import iso_codes
from ecwid_cloner.api.contract import Scope
from ecwid_cloner.models import CloneRequest, Merchant, StoreProfile

if TYPE_CHECKING:
    pass

# A clone request is a few dozen bytes, one with a merchant and a whole profile about 1 KiB: refuse much larger.
MAX_BODY_BYTES = 16384


def _whole_number(value: Any) -> Any:
    # JSON Schema's integer includes 1003.0; a string or a bool still is not a store ID.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# A positive JSON number: "123" or true are not store IDs.
StoreId = Annotated[StrictInt, Field(gt=0), BeforeValidator(_whole_number)]
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
# The white space pydantic strips (Unicode White_Space), spelled out: regex engines disagree
# on \s, and the OpenAPI document must mean exactly what is checked.
SPACE = r"\t\n\x0b\x0c\r\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_EMAIL_CHAR = rf"[^@{SPACE}\x00-\x1f\x7f-\x9f]"  # nor control characters
# What Ecwid takes as an e-mail (it answers 400 for worse): local@domain.tld, no spaces.
EMAIL_PATTERN = rf"^{_EMAIL_CHAR}{{1,64}}@{_EMAIL_CHAR}+\.{_EMAIL_CHAR}{{2,}}$"


def _differs_from_source(target: int | None, info: ValidationInfo) -> int | None:
    if target is not None and info.data.get("sourceStoreId") == target:
        raise ValueError("must differ from sourceStoreId")
    return target


class InstantSiteOption(BaseModel):
    """Clone the Instant Site too, once the store clone has COMPLETED."""

    model_config = ConfigDict(extra="forbid")

    draft: StrictBool  # true: saved as a draft in the target; false: published at once


def _text(value: Any) -> Any:
    # pydantic would read false or 0 as the address 0.0.0.0
    if not isinstance(value, str):
        raise ValueError("must be a string: an IPv4 or IPv6 address")
    return value


IpAddress = Annotated[
    IPvAnyAddress,
    BeforeValidator(_text),
    WithJsonSchema({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}),
]


def padded(pattern: str) -> str:
    """``pattern`` as the OpenAPI document says it of a raw value: with the white space
    pydantic strips before it checks ``pattern`` itself (str_strip_whitespace)."""
    return rf"^[{SPACE}]*(?:{pattern})[{SPACE}]*$"


def _checked(pattern: str, reason: str) -> Callable[[str | None], str | None]:
    """A field validator: the stripped value matches ``pattern`` whole, else ``reason``."""

    def check(value: str | None) -> str | None:
        if value is not None and not re.fullmatch(pattern, value):
            raise ValueError(reason)
        return value

    return check


def _one_of(
    codes: Callable[[], tuple[str, ...]], what: str
) -> tuple[Callable[[str | None], str | None], Callable[[dict[str, Any]], None]]:
    """A field validator and its schema: the value is one of ``codes()`` (loaded on first use)."""

    def check(value: str | None) -> str | None:
        if value is not None and value not in codes():
            raise ValueError(f"must be {what}")
        return value

    def schema(field_schema: dict[str, Any]) -> None:
        field_schema["enum"] = list(codes())

    return check, schema


NON_BLANK = rf"[^{SPACE}]"
AS_GIVEN = StringConstraints(
    strip_whitespace=False
)  # a code is one of a list, exactly: the document's enum  # a text field: something besides white space
EMAIL_SCHEMA: dict[str, Any] = {"pattern": padded(EMAIL_PATTERN[1:-1])}
EMAIL_REASON = "must be an e-mail address, like owner@example.com"


PHONE = r"[+]?[0-9 ()./-]*[0-9][0-9 ()./-]*"
POSTAL_CODE = r"[A-Za-z0-9][A-Za-z0-9 -]*"
STATE_CODE = r"[A-Za-z0-9]{1,3}"
# Optional profile fields (and sections) may be left out, never null: the document says just X
# (no null branch) and ProfileSection refuses an explicit null.


def _without_null_branch(schema: dict[str, Any]) -> None:
    branches = schema.pop("anyOf", [])
    schema.update(next((branch for branch in branches if branch != {"type": "null"}), {}))


def left_out() -> Any:
    return Field(default=None, json_schema_extra=_without_null_branch)


Text = Annotated[str, Field(min_length=1, max_length=255, json_schema_extra={"pattern": NON_BLANK})]
Email = Annotated[str, Field(max_length=254, json_schema_extra=EMAIL_SCHEMA)]
Phone = Annotated[str, Field(max_length=40, json_schema_extra={"pattern": padded(PHONE)})]
PostalCode = Annotated[str, Field(max_length=12, json_schema_extra={"pattern": padded(POSTAL_CODE)})]
StateCode = Annotated[str, Field(json_schema_extra={"pattern": padded(STATE_CODE)})]


class MerchantBody(BaseModel):
    """The owner of a store to create. No password: the owner sets it through Ecwid."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # The patterns say in the OpenAPI document what is checked after stripping.
    email: str = Field(max_length=254, json_schema_extra=EMAIL_SCHEMA)
    name: str = Field(min_length=1, max_length=255, json_schema_extra={"pattern": NON_BLANK})
    # the owner's IP: Ecwid presets the store's location from it
    ip: IpAddress | None = None
    # the store's name (its profile's storeName and companyName); default: the owner's name
    storeName: Text | None = None
    _email = field_validator("email")(_checked(EMAIL_PATTERN, EMAIL_REASON))

    def merchant(self) -> Merchant:
        return Merchant(self.email, self.name, str(self.ip) if self.ip else None, self.storeName)


class ProfileSection(BaseModel):
    """One section of Ecwid's store profile: Ecwid's own field names, nothing else, at least one."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"minProperties": 1})

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null: leave it out instead")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> ProfileSection:
        if not self.model_fields_set:
            raise ValueError("must set at least one field")
        return self


class ProfileSettings(ProfileSection):
    storeName: Text = Field(description="The store's name: customer e-mails, invoices, the storefront")


_country, _country_schema = _one_of(iso_codes.country_codes, "an ISO 3166-1 alpha-2 country code, like US")
_language, _language_schema = _one_of(iso_codes.language_codes, "an ISO 639-1 language code, like en")
_time_zone, _time_zone_schema = _one_of(iso_codes.time_zones, "an IANA time zone, like Europe/Berlin")


class ProfileCompany(ProfileSection):
    """What customers see of the store's company (invoices, the storefront's contact details)."""

    companyName: Text | None = left_out()
    email: Email | None = left_out()
    phone: Phone | None = left_out()
    street: Text | None = left_out()
    city: Text | None = left_out()
    postalCode: PostalCode | None = left_out()
    countryCode: Annotated[str, AS_GIVEN, Field(json_schema_extra=_country_schema)] | None = left_out()
    stateOrProvinceCode: StateCode | None = left_out()
    _email = field_validator("email")(_checked(EMAIL_PATTERN, EMAIL_REASON))
    _phone = field_validator("phone")(_checked(PHONE, "must be a phone number: digits, spaces and + ( ) . / -"))
    _postal_code = field_validator("postalCode")(
        _checked(POSTAL_CODE, "must be a postal code: letters, digits, spaces and -")
    )
    _country = field_validator("countryCode")(_country)
    _state = field_validator("stateOrProvinceCode")(
        _checked(STATE_CODE, "must be the code of a state or province within the country, like NY")
    )


class ProfileMailNotifications(ProfileSection):
    adminNotificationEmails: list[Email] = Field(
        min_length=1, max_length=10, description="Who receives the store's order notifications"
    )

    @field_validator("adminNotificationEmails")
    @classmethod
    def _emails(cls, emails: list[str]) -> list[str]:
        for index, email in enumerate(emails):
            if not re.fullmatch(EMAIL_PATTERN, email):
                raise ValueError(f"item {index}: {EMAIL_REASON}")
        return emails


class ProfileFormatsAndUnits(ProfileSection):
    timezone: Annotated[str, AS_GIVEN] = Field(json_schema_extra=_time_zone_schema)
    _time_zone = field_validator("timezone")(_time_zone)


class ProfileLanguages(ProfileSection):
    defaultLanguage: Annotated[str, AS_GIVEN] = Field(json_schema_extra=_language_schema)
    _language = field_validator("defaultLanguage")(_language)


class ProfileBody(ProfileSection):
    """Store profile fields to set after the clone (PersonalizeStore), in Ecwid's own shape
    and names (PUT /{storeId}/profile). For a store made for a merchant they default to the
    merchant's: storeName and companyName to merchant.storeName (else merchant.name),
    company.email and mailNotifications.adminNotificationEmails to the merchant's e-mail;
    what is given here wins."""

    settings: ProfileSettings | None = left_out()
    company: ProfileCompany | None = left_out()
    mailNotifications: ProfileMailNotifications | None = left_out()
    formatsAndUnits: ProfileFormatsAndUnits | None = left_out()
    languages: ProfileLanguages | None = left_out()

    def store_profile(self) -> StoreProfile:
        return StoreProfile.from_ecwid(self.model_dump(exclude_unset=True))


def _target_or_merchant(target: int | None, info: ValidationInfo) -> int | None:
    """Exactly one of targetStoreId and merchant (which is validated first)."""
    if "merchant" not in info.data:
        return target  # a merchant was given and is invalid: its own errors say why
    if target is not None and info.data["merchant"] is not None:
        raise ValueError("give targetStoreId or merchant, not both")
    if target is None and info.data["merchant"] is None:
        raise ValueError("required: an existing store, or a merchant to create one for")
    return target


# Exactly one target, as JSON Schema says it (the validators below enforce it; this documents it).
ONE_TARGET_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"required": ["targetStoreId"], "properties": {"targetStoreId": {"type": "integer", "exclusiveMinimum": 0}}},
        {"required": ["merchant"], "properties": {"merchant": {"type": "object"}}},
    ]
}


class CloneRequestBody(BaseModel):
    """POST /clones: into an existing store (targetStoreId), or into a new one made for a merchant."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=ONE_TARGET_SCHEMA)

    sourceStoreId: StoreId
    merchant: MerchantBody | None = None  # before targetStoreId: its check reads it
    targetStoreId: StoreId | None = Field(default=None, validate_default=True)
    _target_differs = field_validator("targetStoreId")(_differs_from_source)
    _one_target = field_validator("targetStoreId")(_target_or_merchant)
    scope: Scope | None = None
    cloneDemoCatalog: StrictBool = False
    requestId: str | None = Field(default=None, pattern=REQUEST_ID_PATTERN)
    instantSite: InstantSiteOption | None = None
    profile: ProfileBody | None = None

    def clone_request(self) -> CloneRequest:
        draft = self.instantSite.draft if self.instantSite else None
        merchant = self.merchant.merchant() if self.merchant else None
        profile = self.profile.store_profile() if self.profile else None
        return CloneRequest(
            self.sourceStoreId, self.targetStoreId, self.scope, self.cloneDemoCatalog, draft, merchant, profile
        )


class SignupMessage(BaseModel):
    """A signup event on the SQS queue; without a source, the template store is cloned."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=ONE_TARGET_SCHEMA)

    signupId: str = Field(pattern=REQUEST_ID_PATTERN)
    sourceStoreId: StoreId | None = None
    merchant: MerchantBody | None = None  # before targetStoreId: its check reads it
    targetStoreId: StoreId | None = Field(default=None, validate_default=True)
    _target_differs = field_validator("targetStoreId")(_differs_from_source)
    _one_target = field_validator("targetStoreId")(_target_or_merchant)
    scope: Scope | None = None
    instantSite: InstantSiteOption | None = None
    profile: ProfileBody | None = None

    def clone_request(self, template_store_id: int | None) -> CloneRequest:
        source = self.sourceStoreId or template_store_id
        if source is None:
            raise ValueError("sourceStoreId: required, as no template store is configured")
        if source == self.targetStoreId:
            raise ValueError(f"targetStoreId: must differ from the template store {template_store_id}")
        draft = self.instantSite.draft if self.instantSite else None
        merchant = self.merchant.merchant() if self.merchant else None
        profile = self.profile.store_profile() if self.profile else None
        return CloneRequest(
            source, self.targetStoreId, self.scope, instant_site_draft=draft, merchant=merchant, profile=profile
        )
