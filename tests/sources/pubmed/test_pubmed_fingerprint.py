"""The PubMed reader's output as it was before its speed-ups: the real baseline file by digest, lookups by example."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import numpy as np
import pytest
from support.helpers import read_all

from medcorpus.sources.pubmed.reader import PubMedReader
from medcorpus.sources.pubmed.updates import VersionLedger

# sha256 of the ordered documents (id, text, metadata), the ordered rejects (reason, id) and the version ledger
BASELINE_DIGEST = "39bb1b5a7865ebb7d22020ebf9ecb2b21c9e09f2153ef2b5c3eb115be15a1b79"
BASELINE_REJECTS = {
    "no_abstract": 15_126,
    "abstract_too_short": 144,
    "publication_type:retracted_publication": 2,
    "publication_type:retraction_of_publication": 2,
}


def fingerprint(docs, rejects, events: np.ndarray) -> str:
    """Digest of a reader's output: every document's id, text and metadata, every reject, every ledger event."""
    digest = hashlib.sha256()
    for doc in docs:
        digest.update(json.dumps([doc.id, doc.text, doc.metadata], sort_keys=True, ensure_ascii=False).encode())
        digest.update(b"\0")
    digest.update(json.dumps(rejects).encode())
    digest.update(events.tobytes())
    return digest.hexdigest()


@pytest.mark.slow
def test_real_baseline_output_unchanged(shared_data, tmp_path):
    path = shared_data / "pubmed" / "pubmed20n0014.xml.gz"
    reader = PubMedReader([str(path)])
    reader.ledger = VersionLedger(str(tmp_path))
    docs, rejects = read_all(reader)
    events = np.load(tmp_path / f"{path.name}.npy")
    assert len(docs) == 14_726 and len(events) == 30_000
    assert Counter(reason for reason, _ in rejects) == BASELINE_REJECTS
    assert fingerprint(docs, rejects, events) == BASELINE_DIGEST


def test_lookups_follow_every_matching_parent(tmp_path):
    """Fields are found as ElementPath finds them: the first match under any of several parents, in document order."""
    text = "Participants were followed for two years and outcomes were recorded at every visit by trained staff. " * 3
    record = (
        '<PubmedArticle><MedlineCitation><PMID Version="2">7</PMID><Article>'
        "<Journal><JournalIssue><PubDate><Year>n.d.</Year></PubDate></JournalIssue></Journal>"
        "<Journal><Title>Second Journal</Title><JournalIssue><PubDate><MedlineDate>1999 Nov</MedlineDate></PubDate>"
        f"</JournalIssue></Journal><ArticleTitle>[3H]thymidine uptake [in rats].</ArticleTitle>"
        f"<Abstract><AbstractText>{text}</AbstractText></Abstract>"
        "<Abstract><CopyrightInformation>(c) the second</CopyrightInformation></Abstract>"
        "<ELocationID EIdType='pii'>p</ELocationID><ELocationID EIdType='doi'>10.9/e</ELocationID>"
        "</Article></MedlineCitation><PubmedData><ArticleIdList><ArticleId IdType='doi'> </ArticleId></ArticleIdList>"
        "</PubmedData><PubmedData><ArticleIdList><ArticleId IdType='pmc'>pmc12</ArticleId></ArticleIdList></PubmedData>"
        "</PubmedArticle>"
    )
    path = tmp_path / "a.xml"
    path.write_text(f"<PubmedArticleSet>{record}</PubmedArticleSet>", encoding="utf-8")
    (doc,) = PubMedReader([str(path)]).read_file(str(path))
    assert doc.text.startswith("[3H]thymidine uptake [in rats].\n\nParticipants")
    meta = doc.metadata
    assert (meta["journal"], meta["year"], meta["copyright"]) == ("Second Journal", 1999, "(c) the second")
    assert (meta["doi"], meta["pmcid"], meta["pmid_version"]) == ("10.9/e", "PMC12", 2)
