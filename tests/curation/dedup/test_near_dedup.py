"""Near-duplicate removal: keep rule, cross-source matches, audit records, config, CLI and real documents."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from medcorpus.cli.main import main
from medcorpus.documents import join_turns, make_document
from medcorpus.io.formats import make_reader, make_writer
from medcorpus.run.config import STEP_ORDER, ConfigError, NearDedupConfig, validate
from medcorpus.run.context import StageContext
from medcorpus.run.executors import run_stages
from medcorpus.run.stages import curation_stage

WORDS = (
    "patient clinic dose trial cohort renal hepatic cardiac lesion biopsy infusion therapy outcome survival "
    "placebo baseline follow week month year adult child elderly woman man risk factor marker serum plasma "
    "protein gene cell tissue tumour infection fever pain blood pressure heart rate oxygen lung kidney liver "
    "brain nerve muscle bone skin scan image report result measure test assay level increase decrease "
    "reduced improved stable severe mild moderate acute chronic primary secondary early late high low"
).split()
CATEGORY = {"pubmed": "biomedical", "pmc": "biomedical", "guidelines": "biomedical", "general": "general"}
CATEGORY |= {"meadow": "biomedical", "wikidoc": "biomedical"}


def prose(seed: int, sentences: int = 30) -> str:
    """Deterministic filler prose: distinct seeds share almost no 5-word shingles."""
    rng = random.Random(seed)
    return " ".join(
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "." for _ in range(sentences)
    )


def edit(text: str, rate: float, seed: int) -> str:
    """Replace a share `rate` of the words."""
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) if rng.random() < rate else word for word in text.split(" "))


def write_docs(folder, docs: list[tuple[str, str, str | list[dict]]]) -> None:
    """Write (id, source, text or instruction turns) as an intermediate folder, one file per source."""
    writers = {}
    for doc_id, source, text in docs:
        if source not in writers:
            writers[source] = make_writer(str(folder)).__enter__()
        turns = text if isinstance(text, list) else None
        doc = make_document(join_turns(turns) if turns else text, doc_id, source, CATEGORY[source], "CC-BY-4.0")
        if turns:
            doc.metadata |= {"turns": turns, "kind": "instruction"}
        writers[source].write(doc, 0)
    for writer in writers.values():
        writer.close()


def run_near_dedup(tmp_path, docs, tasks: int = 1, **settings) -> tuple[list, list]:
    """Run the stage as a config run does; returns (kept documents, excluded documents)."""
    write_docs(tmp_path / "in", docs)
    out = tmp_path / f"out{tasks}"
    params = NearDedupConfig(**settings).model_dump()
    stage = curation_stage("near_dedup", params, [str(tmp_path / "in")], StageContext(str(out), "parquet", tasks), 0)
    run_stages([stage], "local", tasks)

    def read(folder):
        if not folder.is_dir():
            return []
        found = list(make_reader(str(folder)).run())
        for doc in found:
            doc.metadata = json.loads(doc.metadata) if isinstance(doc.metadata, str) else doc.metadata
        return sorted(found, key=lambda doc: doc.id)

    return read(out), read(out / "excluded")


def test_priority_then_longest_then_id_across_sources(tmp_path):
    base = prose(1)
    docs = [
        ("general:a", "general", base + " Subscribe to our newsletter for more health news today."),
        ("pubmed:2", "pubmed", edit(base, 0.02, 5)),
        ("pmc:PMC9", "pmc", edit(base, 0.03, 6)),
        ("pubmed:7", "pubmed", prose(2)),
        ("pubmed:8", "pubmed", prose(2)),  # exact copy: identical length, smaller id wins
        ("general:long", "general", prose(3) + " " + prose(4, 2)),
        ("general:short", "general", prose(3)),
        ("general:other", "general", prose(5)),
    ]
    kept, excluded = run_near_dedup(tmp_path, docs)
    assert [doc.id for doc in kept] == ["general:long", "general:other", "pmc:PMC9", "pubmed:7"]
    removed = {doc.id: doc.metadata for doc in excluded}
    assert {key: value["duplicate_of"] for key, value in removed.items()} == {
        "general:a": "pmc:PMC9",
        "pubmed:2": "pmc:PMC9",
        "pubmed:8": "pubmed:7",
        "general:short": "general:long",
    }
    assert all(value["filter_reason"] == "near_duplicate" for value in removed.values())
    assert removed["pubmed:8"]["near_dup_similarity"] == 1.0
    assert 0.5 < removed["pubmed:2"]["near_dup_similarity"] < 1.0
    assert removed["general:a"]["source"] == "general" and removed["general:a"]["license"] == "CC-BY-4.0"


def test_keep_rule_is_configurable_and_result_does_not_depend_on_tasks(tmp_path):
    base = prose(11)
    docs = [("pmc:1", "pmc", base), ("pubmed:1", "pubmed", base + " " + prose(12, 3)), ("general:1", "general", base)]
    docs += [(f"general:x{i}", "general", prose(100 + i)) for i in range(6)]
    kept, excluded = run_near_dedup(tmp_path, docs, keep=["longest", "id"], priority=["general"])
    assert "pubmed:1" in [doc.id for doc in kept]
    assert sorted(doc.id for doc in excluded) == ["general:1", "pmc:1"]
    kept_default, _ = run_near_dedup(tmp_path / "a", docs, tasks=1)
    kept_two, excluded_two = run_near_dedup(tmp_path / "b", docs, tasks=3)
    assert [doc.id for doc in kept_two] == [doc.id for doc in kept_default]
    assert "pmc:1" in [doc.id for doc in kept_two] and len(excluded_two) == 2


def test_threshold_confirms_candidates(tmp_path):
    base = prose(21, 60)
    docs = [("pubmed:1", "pubmed", base), ("pubmed:2", "pubmed", edit(base, 0.06, 3))]
    # few rows per band: the pair always collides; a strict threshold rejects it, a loose one confirms it
    _, strict = run_near_dedup(tmp_path / "s", docs, bands=20, rows=2, threshold=0.95)
    _, loose = run_near_dedup(tmp_path / "l", docs, bands=20, rows=2, threshold=0.3)
    _, collision = run_near_dedup(tmp_path / "c", docs, bands=20, rows=2, threshold=None)
    assert strict == [] and [doc.id for doc in loose] == ["pubmed:2"] and [doc.id for doc in collision] == ["pubmed:2"]


def test_prompt_field_clusters_examples_whose_prompts_are_near_copies(tmp_path):
    """Near-identical prompts with different answers cluster by prompt, not by text; shared answers the other way."""
    prompt = prose(41, 12)

    def turns(question: str, answer: str) -> list[dict]:
        return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]

    docs = [
        ("meadow:1", "meadow", turns(prompt, prose(42, 30))),
        ("wikidoc:1", "wikidoc", turns(edit(prompt, 0.05, 7), prose(43, 30))),
        ("meadow:2", "meadow", turns(prose(44, 2), prose(42, 30))),  # another (shorter) prompt, meadow:1's answer
        ("pubmed:1", "pubmed", prose(45)),
    ]
    kept_text, excluded_text = run_near_dedup(tmp_path / "text", docs)
    assert [(doc.id, doc.metadata["duplicate_of"]) for doc in excluded_text] == [("meadow:2", "meadow:1")]
    assert excluded_text[0].metadata["filter_reason"] == "near_duplicate"
    kept, excluded = run_near_dedup(tmp_path / "prompt", docs, field="prompt", priority=["wikidoc", "meadow"])
    assert [(doc.id, doc.metadata["duplicate_of"]) for doc in excluded] == [("meadow:1", "wikidoc:1")]
    assert excluded[0].metadata["filter_reason"] == "near_duplicate_prompt"
    assert 0.5 < excluded[0].metadata["near_dup_similarity"] < 1.0
    assert [doc.id for doc in kept] == ["meadow:2", "pubmed:1", "wikidoc:1"]
    with pytest.raises(ValueError):
        NearDedupConfig(field="answer")


def test_unrelated_and_empty_documents_are_kept(tmp_path):
    docs = [(f"pubmed:{i}", "pubmed", prose(200 + i)) for i in range(20)] + [("pubmed:e1", "pubmed", "Short.")]
    docs.append(("pubmed:e2", "pubmed", "Short."))  # too short for one shingle: never compared
    kept, excluded = run_near_dedup(tmp_path, docs)
    assert len(kept) == 22 and excluded == []


def test_config_validation():
    assert STEP_ORDER.index("near_dedup") == STEP_ORDER.index("dedup") + 1
    assert NearDedupConfig().keep == ["priority", "longest", "id"]
    for bad in ({"keep": ["priority", "newest"]}, {"keep": ["id", "id"]}, {"keep": ["longest", "shortest"]}):
        with pytest.raises(ValueError):
            NearDedupConfig(**bad)
    raw = {"output": "o", "sources": {"p": {"type": "pmc", "inputs": ["/nonexistent"]}}, "mix": {"ratios": {}}}
    for settings, key in (({"bands": 0}, "bands"), ({"threshold": 1.5}, "threshold"), ({"rowz": 3}, "rowz")):
        with pytest.raises(ConfigError, match=f"curation.near_dedup.{key}"):
            validate(raw | {"curation": {"near_dedup": settings}})


def test_cli_curate_near_dedup(tmp_path):
    base = prose(31)
    write_docs(tmp_path / "in", [("pubmed:1", "pubmed", base), ("pmc:1", "pmc", edit(base, 0.02, 1))])
    args = ["curate", "near_dedup", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--set", "bands=10"]
    result = CliRunner().invoke(main, [*args, "--set", "rows=6"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["stages"][0]["removed"] == {"pubmed": {"near_duplicate": 1}}
    bad = CliRunner().invoke(main, [*args, "--set", "keep=[oldest]"])
    assert bad.exit_code == 2 and "keep" in bad.output


@pytest.mark.slow
def test_real_web_documents_with_injected_copies(tmp_path, shared_data):
    """Real Common Crawl pages: lightly edited copies are found, the untouched pages stay."""
    import gzip

    path = shared_data / "general" / "dolma_test_data" / "CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle]
    texts = [text for text in texts if len(text.split()) >= 300][:120]
    docs = [(f"general:{i:04d}", "general", text) for i, text in enumerate(texts)]
    copies = {f"pubmed:c{i}": f"general:{i:04d}" for i in range(0, len(texts), 6)}
    docs += [(key, "pubmed", edit(texts[int(value[-4:])], 0.03, i)) for i, (key, value) in enumerate(copies.items())]
    kept, excluded = run_near_dedup(tmp_path, docs, tasks=2)
    found = {doc.id: doc.metadata["duplicate_of"] for doc in excluded}
    # PubMed has higher priority than general web text: the web originals are the ones removed
    recalled = sum(found.get(original) == copy for copy, original in copies.items())
    assert recalled >= 0.9 * len(copies)
    assert len(found) <= len(copies) + 3  # the real pages hold a few near-duplicates of their own, no more


def test_word_shingles_hash_each_ngram_by_its_words_in_order():
    from medcorpus.curation.dedup.near.shingles import word_shingles

    first = word_shingles("the patient was febrile overnight".split(), 3)
    second = word_shingles("yesterday the patient was febrile".split(), 3)
    assert first.shape == (3, 1) and first.dtype.name == "uint64"
    assert first[0, 0] == second[1, 0] and first[1, 0] == second[2, 0]  # "the patient was", "patient was febrile"
    assert word_shingles("was patient the".split(), 3)[0, 0] != first[0, 0]  # order matters
    assert word_shingles(["too", "short"], 3).shape == (0, 1)
    assert len(set(first[:, 0].tolist())) == 3


def test_simple_words_match_datatrove_simplify_text():
    """The fast word split (ASCII bytes, no whitespace pass, regex punctuation) gives datatrove's words."""
    import dataclasses
    import sys
    import unicodedata

    from datatrove.utils.text import TextNormConfig, simplify_text

    from medcorpus.curation.dedup.near.shingles import simple_words

    texts = [
        "",
        "  ",
        "The 12.5 mg, 3,000 patients; 1.2.3 (n=40) x\x1cy\x0bz",
        "Café résumé naïve über ǅ İstanbul ΣΑΣ ﬁ",
        "tab\tnew\nline\u00a0nbsp\u2003em\u3000ideo \u0301 alone",
        "數據 ４２ ٣٫٥ ᪩ 《title》 Monday January",
        "K\u212a Kelvin sign lowers to ASCII 7,5",
    ]
    for norm in (TextNormConfig(), TextNormConfig(remove_punctuation=False, norm_weekdays=True, norm_monthnames=True)):
        for text in texts:
            expected = [word.encode("utf-8") for word in simplify_text(text, norm).split()]
            assert simple_words(text, norm) == expected, text
        ascii_norm = dataclasses.replace(norm, norm_unicode_diacritics=False)
        assert simple_words(texts[2], ascii_norm) == simple_words(texts[2], norm)
    # what skipping the whitespace pass relies on: whitespace decomposes to whitespace and is never a mark
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if char.isspace():
            assert unicodedata.combining(char) == 0 and unicodedata.normalize("NFD", char).isspace()


def test_batched_signatures_equal_per_document_signatures():
    """Shingles and MinHash values of a batch (blocks cutting documents apart) equal datatrove's, per document."""
    import numpy as np
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.utils.hashing import HashConfig

    import medcorpus.curation.dedup.near.shingles as shingles_module
    from medcorpus.curation.dedup.near.shingles import SpaceWords, batch_shingles, min_hashes, word_shingles

    texts = [prose(seed, sentences=seed % 7) for seed in range(40)] + ["two words", "", "x " * 3000]
    words = [text.lower().replace(".", " ").split() for text in texts]
    for precision in (64, 32):
        config = MinhashConfig(n_grams=3, num_buckets=4, hashes_per_bucket=3, hash_config=HashConfig(precision))
        reference = MinhashDedupSignature("/nonexistent", config=config, language=SpaceWords())
        shingles, counts = batch_shingles([[w.encode() for w in doc] for doc in words], 3)
        for block in (4096, 7):  # small blocks: documents span several blocks, blocks hold several documents
            shingles_module._BLOCK_COLUMNS = block
            try:
                rows = min_hashes(shingles, counts, *reference.parameters, config.hash_config.max)
            finally:
                shingles_module._BLOCK_COLUMNS = 4096
            for doc, row, count in zip(words, rows, counts):
                single = word_shingles(doc, 3)
                assert count == len(single)
                if count:
                    assert row.tolist() == [h for band in reference.get_signature(single) for h in band]
                else:
                    assert (row == np.iinfo(np.uint64).max).all()
    assert np.array_equal(np.sort(shingles), np.sort(np.concatenate([word_shingles(doc, 3)[:, 0] for doc in words])))


def test_band_files_sorted_as_datatrove_sorts_them():
    """Ties on the first hash (copies) are ordered by the other fields, as a full structured sort orders them."""
    import numpy as np

    from medcorpus.curation.dedup.near.signature import sorted_order

    rng = np.random.default_rng(0)
    dtype = np.dtype([("field1", "<u8"), ("field2", "<u8"), ("field3", "<u4")])
    records = np.zeros(500, dtype=dtype)
    records["field1"] = rng.integers(0, 20, 500)  # many ties
    records["field2"] = rng.integers(0, 3, 500)
    records["field3"] = rng.permutation(500)
    expected = records.copy()
    expected.sort(order=dtype.names)
    assert records[sorted_order(records)].tobytes() == expected.tobytes()


def test_bucket_pass_writes_what_datatrove_writes(tmp_path, shared_data):
    """Pass 2 with numpy (`NearDedupBuckets`) gives every band's `.dups` file byte for byte as datatrove's heap
    merge, and the same match counts, on real abstracts with exact and edited copies spread over two tasks."""
    from datatrove.pipeline.dedup.minhash import MinhashDedupBuckets

    from medcorpus.curation.dedup.near.buckets import NearDedupBuckets
    from medcorpus.curation.dedup.near.pipeline import minhash_config
    from medcorpus.curation.dedup.near.signature import NearDedupSignature
    from medcorpus.sources.pubmed.reader import PubMedReader

    path = str(shared_data / "pubmed" / "pubmed20n0014.xml.gz")
    originals = [document for _, document in zip(range(300), PubMedReader([path]).read_file(path))]
    rng = random.Random(3)
    copies = []
    for number, document in enumerate(rng.sample(originals, 120)):
        words = document.text.split()
        if number % 2:  # an edited copy: a few words replaced
            for _ in range(max(1, len(words) // 50)):
                words[rng.randrange(len(words))] = "changed"
        copies.append(make_document(" ".join(words), f"copy{number}", "pubmed", "biomedical", "x"))
    documents = originals + copies
    rng.shuffle(documents)
    config = minhash_config(3, 20, 5)
    signatures = tmp_path / "signatures"
    for rank in range(2):
        step = NearDedupSignature(str(signatures), str(tmp_path / "docs"), config, ["pubmed"])
        step.run(iter(documents[rank::2]), rank, 2)
    matches = []
    for band in range(config.num_buckets):
        ours = NearDedupBuckets(str(signatures), str(tmp_path / "ours"), config=config)
        theirs = MinhashDedupBuckets(str(signatures), str(tmp_path / "theirs"), config=config)
        ours.run(None, band, config.num_buckets)
        theirs.run(None, band, config.num_buckets)
        name = f"{band:05d}_00.dups"
        assert (tmp_path / "ours" / name).read_bytes() == (tmp_path / "theirs" / name).read_bytes()
        found = ours.stats.stats["total_matches"].total  # (a missing stat reads 0)
        assert found == theirs.stats.stats["total_matches"].total
        matches.append(found)
    assert sum(matches) >= 60 * config.num_buckets  # the exact copies match in every band
