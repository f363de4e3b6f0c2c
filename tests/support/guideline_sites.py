"""What each guideline publisher's recorded snapshot (tests/snapshots/guidelines/<site>/) holds, site by site.

One table per property, keyed by adapter name, read by the parametrised adapter tests: the terms decided
per publisher, what `parse_listing` gives on every recorded listing page (in the order a breadth-first
crawl visits them), and a pattern every recorded document of the site matches once extracted.
"""

from __future__ import annotations

import string

MAX_SNAPSHOT_BYTES = 60_000
OPEN_LICENSES = ("public-domain", "per-document", "CC0", "CC-BY", "OGL")

# site -> (license, redistributable, extractor, audience, javascript_only), as decided per publisher
TERMS = {
    "aafp": ("proprietary", False, "html", "clinicians", False),
    "cco": ("proprietary", False, "pdf", "clinicians", False),
    "cdc": ("public-domain", True, "pdf", "clinicians", False),
    "cma": ("per-document", True, "auto", "clinicians", False),
    "cps": ("proprietary", False, "html", "clinicians", False),
    "drugs_com": ("proprietary", False, "html", "both", False),
    "guideline_central": ("proprietary", False, "html", "clinicians", True),
    "icrc": ("proprietary", False, "pdf", "clinicians", False),
    "idsa": ("proprietary", False, "html", "clinicians", False),
    "magic": ("per-document", False, "pdf", "clinicians", True),
    "mayo": ("proprietary", False, "html", "patients", False),
    "nice": ("proprietary", False, "html", "clinicians", False),
    "rch": ("proprietary", False, "html", "clinicians", False),
    "spor": ("per-document", True, "pdf", "clinicians", False),
    "who": ("CC-BY-NC-SA-3.0-IGO", True, "pdf", "both", True),
    "wikidoc": ("CC-BY-SA-3.0", True, "html", "both", False),
}

AAFP = "/family-physician/patient-care/clinical-recommendations"
TOPIC = f"{AAFP}/recommendations-by-topic"
CCO = "/en/guidelines-advice"
CDC = "/cbrowse?pid=cdc%3A100&parentId=cdc%3A100&maxResults=100&start="
CMA = "/cpg/homepage/browse-by/category/specialties/id/"
CMA_HF = "/documents/prairie-hf-network/hf-reduced-ef-primary-care-2021.pdf"
CMA_LYME = "/en/public-health/services/diseases/lyme-disease/health-professionals/"
CMA_LYME += "early-localized-lyme-disease-primary-care.html"
ICRC = "/en/publications?topic=health"
ICRC_PDF = "/sites/default/files/document_new/file_list/"
IDSA = "/practice-guideline/all-practice-guidelines/"
MAGIC = "/api/v2/content/guidelines?limit=100&offset="
MAYO = "/diseases-conditions/index?letter="
NICE = "/guidance/published?ndt=Guidance&ps=100"
SPOR = "/key-activities/cpg-asset-map/cpg-database/"
WHO = "/server/api/discover/search/objects?dsoType=ITEM&f.type=Guidelines%2Cequals&sort=dc.date.accessioned%2CASC"
ITEM1, ITEM2, ITEM3 = (
    "/server/api/core/items/3f1c9a52-7d4e-4b8a-9c21-5e0b6d7a8f13/bundles?embed=bitstreams",
    "/server/api/core/items/b27e4d90-1a6c-4f3e-8d57-c9a0e2f41b68/bundles?embed=bitstreams",
    "/server/api/core/items/6d0a2c1e-94b7-4e55-a3f8-0b1c2d3e4f5a/bundles?embed=bitstreams",
)
BITSTREAM = "/server/api/core/bitstreams/{}/content"
WIKI = "/api.php?action=query&format=json&formatversion=2&list=allpages&apnamespace=0&apfilterredir=nonredirects"
WIKI += "&aplimit=500"
RCH = "/clinicalguide/guideline_index/"
RCH_DOCS = [f"{RCH}Bronchiolitis/", f"{RCH}Croup_laryngotracheobronchitis/"]
# site -> {listing page target: (pages, documents)}: exactly what parse_listing gives on each recorded page
LISTINGS = {
    "aafp": {
        f"{AAFP}/recommendations-by-topic.html": (
            [f"{TOPIC}/respiratory.html", f"{TOPIC}/cardiovascular.html"],
            [],
        ),
        f"{AAFP}/recommendations-by-topic/respiratory.html": (
            [f"{AAFP}/recommendations-by-topic.html"],
            [f"{AAFP}/all-clinical-recommendations/asthma-adults.html"],
        ),
        f"{AAFP}/recommendations-by-topic/cardiovascular.html": (
            [f"{AAFP}/recommendations-by-topic/respiratory.html"],
            [f"{AAFP}/all-clinical-recommendations/hypertension-initial-therapy.html"],
        ),
    },
    "cco": {
        CCO: ([f"{CCO}?page=0", f"{CCO}?page=1", f"{CCO}/types-of-cancer/58206"], []),
        f"{CCO}?page=0": ([f"{CCO}?page=0", f"{CCO}?page=1", f"{CCO}/types-of-cancer/58206"], []),
        f"{CCO}?page=1": ([f"{CCO}?page=0", f"{CCO}?page=1", f"{CCO}/types-of-cancer/2151"], []),
        f"{CCO}/types-of-cancer/58206": ([], ["/sites/ccocancercare/files/guidelines/full/pebc26-4v2f.pdf"]),
        f"{CCO}/types-of-cancer/2151": ([], ["/sites/ccocancercare/files/guidelines/full/pebc12-9v3f.pdf"]),
    },
    "cdc": {
        f"{CDC}0": ([f"{CDC}0", f"{CDC}100", "/view/cdc/45210"], []),
        f"{CDC}100": ([f"{CDC}0", f"{CDC}100", "/view/cdc/61874"], []),
        "/view/cdc/45210": ([], ["/view/cdc/45210/cdc_45210_DS1.pdf"]),
        "/view/cdc/61874": ([], ["/view/cdc/61874/cdc_61874_DS1.pdf"]),
    },
    "cma": {
        "/cpg/homepage": ([f"{CMA}1000", f"{CMA}1014"], []),
        f"{CMA}1000": ([f"{CMA}1000", f"{CMA}1014", f"{CMA}1000?page=2"], [CMA_HF]),
        f"{CMA}1014": ([f"{CMA}1000", f"{CMA}1014"], [CMA_LYME]),
        f"{CMA}1000?page=2": ([f"{CMA}1000", f"{CMA}1014", f"{CMA}1000?page=2"], [CMA_LYME]),
    },
    "cps": {
        "/en/documents": (
            ["/en/documents", "/en/documents/P10"],
            ["/en/documents/position/high-flow-nasal-cannula-bronchiolitis"],
        ),
        "/en/documents/P10": (["/en/documents"], ["/en/documents/position/iron-deficiency-toddlers"]),
    },
    "drugs_com": {
        "/dosage/": (["/dosage-a.html", "/dosage-b.html"], []),
        "/dosage-a.html": (["/dosage-a.html", "/dosage-b.html"], ["/dosage/amoxicillin.html"]),
        "/dosage-b.html": (["/dosage-a.html", "/dosage-b.html"], ["/dosage/bisoprolol.html"]),
    },
    "guideline_central": {
        "/sitemap.xml": (["/sitemap-guidelines-1.xml", "/sitemap-guidelines-2.xml"], []),
        "/sitemap-guidelines-1.xml": ([], ["/guideline/4398/"]),
        "/sitemap-guidelines-2.xml": ([], ["/guideline/5012/", "/guideline/4398/"]),
    },
    "icrc": {
        ICRC: ([ICRC, f"{ICRC}&page=1", "/en/publication/4702-initial-management-limb-injuries-field-hospitals"], []),
        f"{ICRC}&page=1": (
            [ICRC, f"{ICRC}&page=1", "/en/publication/4815-health-care-detention-screening-tuberculosis-admission"],
            [],
        ),
        "/en/publication/4702-initial-management-limb-injuries-field-hospitals": (
            [],
            [f"{ICRC_PDF}4702_002_limb_injuries.pdf"],
        ),
        "/en/publication/4815-health-care-detention-screening-tuberculosis-admission": (
            [],
            [f"{ICRC_PDF}4815_002_tb_screening_detention.pdf"],
        ),
    },
    "idsa": {
        IDSA: ([f"{IDSA}?page=2"], ["/practice-guideline/acute-bacterial-rhinosinusitis-in-adults/"]),
        f"{IDSA}?page=2": ([], ["/practice-guideline/native-joint-septic-arthritis/"]),
    },
    "magic": {
        f"{MAGIC}0": ([f"{MAGIC}100"], ["/api/v1/guidelines/4711/pdf", "/api/v1/guidelines/5120/pdf"]),
        f"{MAGIC}100": ([], []),
    },
    "mayo": {
        f"{MAYO}{letter}": (
            [],
            {
                "A": ["/diseases-conditions/acute-sinusitis/symptoms-causes/syc-20351671"],
                "B": ["/diseases-conditions/bronchiolitis/symptoms-causes/syc-20351565"],
            }.get(letter, []),
        )
        for letter in string.ascii_uppercase
    },
    "nice": {
        NICE: (["/guidance/ng901", f"{NICE}&pa=2"], []),
        "/guidance/ng901": ([], ["/guidance/ng901/chapter/Recommendations", "/guidance/ng901/chapter/Context"]),
        f"{NICE}&pa=2": (["/guidance/ng902"], []),
        "/guidance/ng902": ([], ["/guidance/ng902/chapter/Recommendations"]),
    },
    "rch": {
        RCH: ([], RCH_DOCS),
        "/clinicalguide/about_rch_cpgs/welcome_to_the_clinical_practice_guidelines/": ([], RCH_DOCS),
    },
    "spor": {
        SPOR: ([f"{SPOR}page/2/"], ["/sites/ccocancercare/files/guidelines/full/pebc26-4v2f.pdf"]),
        f"{SPOR}page/2/": ([], ["/documents/position/acute-otitis-media.pdf"]),
    },
    "who": {
        f"{WHO}&page=0&size=100": ([ITEM1, ITEM3, f"{WHO}&page=1&size=100"], []),
        ITEM1: ([], [BITSTREAM.format("0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d")]),  # English file of two
        ITEM3: ([], []),  # no ORIGINAL bundle (restricted item)
        f"{WHO}&page=1&size=100": ([ITEM2], []),
        ITEM2: ([], [BITSTREAM.format("9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b")]),
    },
    "wikidoc": {
        WIKI: ([f"{WIKI}&apcontinue=Community-acquired_pneumonia&continue=-%7C%7C"], ["/index.php/Bell%27s_palsy"]),
        f"{WIKI}&apcontinue=Community-acquired_pneumonia&continue=-%7C%7C": (
            [],
            ["/index.php/Community-acquired_pneumonia"],
        ),
    },
}
# a pattern that every recorded document of a site matches once extracted (its grading where it grades)
SIGNS = {
    "aafp": r"The AAFP recommends",
    "cco": r"## Recommendations",
    "cdc": r"## Recommendations",
    "cma": r"## Recommendations",
    "cps": r"\((Strong|Weak|Conditional) recommendation, \w+-quality evidence\)",
    "drugs_com": r"## Recommendations",
    "guideline_central": r"## Recommendations",
    "icrc": r"Strong recommendation; ",
    "idsa": r"(strong|conditional) recommendation, \w+ certainty of evidence",
    "magic": r"(Strong|Weak) recommendation (for|against)[^.]*\. Certainty of evidence: \w+",
    "mayo": r"When to see a doctor",
    "nice": r"\d\.\d\.\d (Offer|Consider|Do not|Take)|[Cc]hronic cough",
    "rch": r"Key points",
    "spor": r"(Grade [AB]; level of evidence|strong recommendation, \w+-quality evidence)",
    "who": r"Recommendation 1\..*\((strong|conditional) recommendation, \w+-certainty evidence\)",
    "wikidoc": r"Class I.*\(Level of Evidence: [ABC]\)",
}
# bodies no listing page may yield a link from, whatever the content type claims
GARBAGE = [
    b"",
    b"   \n",
    b"<!-- nothing here -->",
    b"\x00\xff\xfe\x01 not a page \x80\x81",
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF",
    b'{"results": [1, 2, 3]}',
    b"<?xml version='1.0'?><urlset><url><loc>",
    b'<html><body><a href="http://[::1">broken host</a></body></html>',
    b"\x1f\x8b\x08\x00 truncated gzip",
    b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><s>&b;</s>',
    b" \n\t",
    b"<!-- -->",
    b"\x00\xff\xfe\x01 not a page \x80",
    b"%PDF-1.7\n%%EOF",
    b"[1, 2, 3]",
    b'{"query": {"allpages": 7}, "continue": {"apcontinue": ["x"]}}',
    b'{"_embedded": {"searchResult": {"_embedded": {"objects": "x"}, "page": {"number": "0"}}}}',
    b'{"_embedded": {"bundles": [{"name": "ORIGINAL", "_embedded": {"bitstreams": 5}}]}}',
    b"[" * 100_000,
    b'<html><body><main><a href="http://[::1">broken host</a></main></body></html>',
]
