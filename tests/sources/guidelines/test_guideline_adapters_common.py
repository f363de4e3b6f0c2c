"""What every guideline adapter must do: move wholesale to a mirror given as base URL."""

from __future__ import annotations

import pytest
from support.snapshot_server import BASE, recorded
from test_guideline_adapters_a import LISTINGS as LISTINGS_A
from test_guideline_adapters_b import LISTINGS as LISTINGS_B

from medcorpus.sources.guidelines.adapters import ADAPTERS, adapter_class

LISTINGS = LISTINGS_A | LISTINGS_B


def test_every_registered_site_has_recorded_listings():
    assert sorted(LISTINGS) == sorted(ADAPTERS)


@pytest.mark.parametrize("site", sorted(LISTINGS))
def test_base_url_override(site):
    cls = adapter_class(site)
    default, mirror = cls(), cls("http://mirror.test:8080/sub")
    assert default.base_url == cls.default_base_url and mirror.base_url == "http://mirror.test:8080/sub/"
    for a, b in zip(default.start_urls(), mirror.start_urls(), strict=True):
        assert a.startswith(cls.default_base_url) and b.startswith(mirror.base_url)
        assert a[len(cls.default_base_url) :] == b[len(mirror.base_url) :]
    # the recorded listing pages give publisher URLs when parsed as the publisher's own pages
    first = next(iter(LISTINGS[site]))
    body, kind = recorded(site, BASE.rstrip("/") + first)
    listing = default.parse_listing(cls.default_base_url.rstrip("/") + first, body, kind)
    assert listing.pages + listing.documents
    assert all(link.startswith(cls.default_base_url) for link in listing.pages + listing.documents)
