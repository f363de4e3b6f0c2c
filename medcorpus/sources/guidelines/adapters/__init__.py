"""Guideline publishers' adapters, one module each, looked up by their --site name."""

from __future__ import annotations

import importlib

from medcorpus.sources.guidelines.adapters.base import DEFAULT_REMOVED_SECTIONS, Listing, SiteAdapter

# --site name -> "module:Class", imported lazily
ADAPTERS = {
    "aafp": "aafp:AAFPAdapter",
    "cco": "cco:CancerCareOntarioAdapter",
    "cdc": "cdc:CDCAdapter",
    "cma": "cma:CMAInfobaseAdapter",
    "cps": "cps:CanadianPaediatricSocietyAdapter",
    "drugs_com": "drugs_com:DrugsComAdapter",
    "guideline_central": "guideline_central:GuidelineCentralAdapter",
    "icrc": "icrc:ICRCAdapter",
    "idsa": "idsa:IDSAAdapter",
    "magic": "magic:MagicAppAdapter",
    "mayo": "mayo:MayoClinicAdapter",
    "nice": "nice:NICEAdapter",
    "rch": "rch:RCHMelbourneAdapter",
    "spor": "spor:SPOREvidenceAllianceAdapter",
    "who": "who:WHOIrisAdapter",
    "wikidoc": "wikidoc:WikiDocAdapter",
}


def adapter_class(site: str) -> type[SiteAdapter]:
    """The adapter class registered under `site`."""
    if site not in ADAPTERS:
        raise KeyError(f"unknown guideline site {site!r}; known: {', '.join(ADAPTERS)}")
    module, _, cls = ADAPTERS[site].partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


__all__ = ["ADAPTERS", "DEFAULT_REMOVED_SECTIONS", "Listing", "SiteAdapter", "adapter_class"]
