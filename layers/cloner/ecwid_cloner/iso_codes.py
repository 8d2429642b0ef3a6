"""The codes a store profile is checked against: ISO 3166-1 countries and ISO 639-1
languages (pycountry) and IANA time zones (zoneinfo, with the tzdata package). Loaded on
first use: an entry point that never sees a profile never pays for them."""

from __future__ import annotations

import functools

# zoneinfo's list holds a few names that are files, not places: not store time zones.
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})


@functools.cache
def country_codes() -> tuple[str, ...]:
    import pycountry

    return tuple(sorted(country.alpha_2 for country in pycountry.countries))


@functools.cache
def language_codes() -> tuple[str, ...]:
    import pycountry

    return tuple(sorted(language.alpha_2 for language in pycountry.languages if hasattr(language, "alpha_2")))


@functools.cache
def time_zones() -> tuple[str, ...]:
    import zoneinfo

    return tuple(sorted(zoneinfo.available_timezones() - _NOT_ZONES))
