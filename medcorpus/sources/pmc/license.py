"""Licenses of PMC articles: SPDX-like ids from JATS permissions, their families, and the reader's license filter.

Ids: "CC-BY-4.0", "CC-BY-NC-2.0-UK" (a ported licence), "CC0-1.0", "PDM-1.0", "CC-BY" (no version given),
"public-domain" (a US government work without a licence URL) and "unknown". The family of an id drops its
version and port: "CC-BY-NC-2.0-UK" -> "CC-BY-NC", "CC0-1.0" -> "CC0".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

from medcorpus.sources.xml.safe import XLINK_HREF, flatten_text

ALI_LICENSE_REF = "{http://www.niso.org/schemas/ali/1.0/}license_ref"
_CC_URL = re.compile(r"creativecommons\.org/(licenses|publicdomain)/([a-z][a-z-]*)/(\d\.\d)(?:/([a-z]{2,3})\b)?", re.I)
_CC_TEXT = re.compile(r"creative\s+commons\s+attribution(.{0,80}?)(?:\blicen[cs]e\b|[;()]|\.\s|\.?$)", re.I | re.S)
_CC_SHORT = re.compile(r"\bCC[ -]BY((?:[ -](?:NC|ND|SA))*)(?:[ -](\d\.\d))?\b")
_CC_TERMS = (("NC", r"non-?\s?commercial"), ("ND", r"no-?\s?deriv"), ("SA", r"share-?\s?alike"))
_VERSION_PORT = re.compile(r"-\d+\.\d+(?:-[A-Za-z]{2,3})?$")


def normalize_license(urls: Iterable[str], texts: Iterable[str], license_type: str = "") -> str:
    """SPDX-like id ("CC-BY-4.0", "CC-BY-NC-2.0-UK", "CC0-1.0", "PDM-1.0", "CC-BY" when no version is
    given) from license URLs first, then license/copyright wording; "unknown" when nothing matches."""
    texts = [text for text in texts if text]
    for url in [*urls, *texts]:
        match = _CC_URL.search(url or "")
        if match:
            kind, name, version, port = match.group(1).lower(), match.group(2).lower(), match.group(3), match.group(4)
            if kind == "publicdomain":
                return {"zero": "CC0-", "mark": "PDM-"}.get(name, "CC-PD-") + version
            return f"CC-{name.upper()}-{version}" + (f"-{port.upper()}" if port else "")
    for text in texts:
        if re.search(r"\bCC0\b|creative\s+commons\s+zero|public\s+domain\s+dedication", text, re.I):
            return "CC0-1.0"
        match = _CC_SHORT.search(text)
        if match:
            return "CC-BY" + match.group(1).upper().replace(" ", "-") + (f"-{match.group(2)}" if match.group(2) else "")
        match = _CC_TEXT.search(text)
        if match:
            terms, version = match.group(1), re.search(r"\b(\d\.\d)\b", match.group(1))
            parts = [code for code, word in _CC_TERMS if re.search(word, terms, re.I)]
            return "-".join(["CC-BY", *parts]) + (f"-{version.group(1)}" if version else "")
    return "public-domain" if license_type.lower() == "public-domain" else "unknown"


def license_family(license_id: str) -> str:
    """The id without its version and port: "CC-BY-NC-2.0-UK" -> "CC-BY-NC", "CC0-1.0" -> "CC0"."""
    return _VERSION_PORT.sub("", license_id)


def license_allowed(license_id: str, allowed: Iterable[str]) -> bool:
    """True when an entry of `allowed` equals the id or its family (case-insensitive): "CC-BY" admits
    "CC-BY-4.0" and "CC-BY", not "CC-BY-NC-4.0"; "CC-BY-4.0" admits only that version."""
    names = {license_id.casefold(), license_family(license_id).casefold()}
    return any(entry.strip().casefold() in names for entry in allowed)


def option_names(value: Iterable[str] | str | None, option: str, required: bool = False) -> tuple[str, ...]:
    """A reader option's list of names: an iterable, a comma-separated string, or None (no names); with
    `required`, an empty list is an error (None is the way to say "no filter")."""
    items = [] if value is None else value.split(",") if isinstance(value, str) else list(value)
    if not all(isinstance(item, str) for item in items):
        raise ValueError(f"{option}: expected names, got {value!r}")
    names = tuple(item.strip() for item in items if item.strip())
    if required and not names:
        raise ValueError(f"{option}: give at least one name, or None for no filter")
    return names


def read_license(meta: etree._Element) -> tuple[str | None, str, str | None]:
    """(license URL, normalised license id, copyright statement) of an `<article-meta>`'s permissions."""
    licenses = meta.findall("permissions/license") + meta.findall("license")
    urls = [lic.get(XLINK_HREF, "") for lic in licenses]
    urls += [flatten_text(ref) for lic in licenses for ref in lic.iter(ALI_LICENSE_REF)]
    urls += [link.get(XLINK_HREF, "") for lic in licenses for link in lic.iter("ext-link", "uri")]
    urls = [url.strip() for url in urls if url and url.strip()]
    statement = meta.find("permissions/copyright-statement")
    copyright_statement = flatten_text(statement if statement is not None else meta.find("copyright-statement"))
    texts = [flatten_text(lic) for lic in licenses] + [copyright_statement]
    license_type = next((lic.get("license-type", "") for lic in licenses if lic.get("license-type")), "")
    spdx = normalize_license(urls, texts, license_type)
    return (urls[0] if urls else None), spdx, copyright_statement or None
