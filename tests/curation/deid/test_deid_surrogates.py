"""Surrogate replacement: consistent within a note, shaped like the original, independent of it, seeded."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from datatrove.data import Document

from medcorpus.cli.main import main
from medcorpus.curation.deid.deidentifier import Deidentifier
from medcorpus.curation.deid.surrogates import Surrogates
from medcorpus.io.formats import make_reader, make_writer
from medcorpus.run.config import ConfigError, CurationConfig

NOTE = (
    "Seen by Dr. Harlan Okafor today. Daughter Priya Lindqvist called 617-555-0142 on 3/14/2142.\n"
    "Transferred from Palmdale Memorial Hospital on Oct 20th.\n"
    "Plan discussed with Dr. Okafor and [**Known lastname 12**].\n"
)
SECRETS = ("Okafor", "Harlan", "Lindqvist", "Priya", "617-555-0142", "3/14/2142", "Palmdale", "Oct 20th")


def run(text: str, doc_id: str = "note-1", seed: int = 7) -> Document:
    step = Deidentifier(replace="surrogates", seed=seed)
    document = Document(text=text, id=doc_id, metadata={"category": "clinical"})
    return next(iter(step.run([document])))


def test_surrogates_replace_every_secret_without_tags():
    out = run(NOTE)
    assert not any(secret in out.text for secret in SECRETS)
    assert not re.search(r"\[(NAME|DATE|PHONE|HOSPITAL)\]", out.text)
    assert "[**" not in out.text
    tagged = next(iter(Deidentifier().run([Document(text=NOTE, id="x", metadata={"category": "clinical"})])))
    assert out.metadata["phi_spans"] == tagged.metadata["phi_spans"]


def test_same_value_same_surrogate_within_a_note():
    surrogates = Surrogates(7, "note-1")
    first = surrogates("Okafor", "NAME")
    assert surrogates("OKAFOR", "NAME") == first.upper()
    assert surrogates("okafor", "NAME") == first.lower()
    assert surrogates("Lindqvist", "NAME") != first
    # the surrogate for a new value depends only on the order values appear in, never on the value itself
    other = Surrogates(7, "note-1")
    assert other("Zebulon", "NAME") == first


def test_seed_and_document_change_the_draw_and_runs_repeat_bytes():
    assert run(NOTE).text == run(NOTE).text
    assert run(NOTE, seed=8).text != run(NOTE).text
    assert run(NOTE, doc_id="note-2").text != run(NOTE).text


@pytest.mark.parametrize(
    ("original", "tag", "shape"),
    [
        ("3/14/2142", "DATE", r"\d{1,2}/\d{1,2}/\d{4}"),
        ("3-14-42", "DATE", r"\d{1,2}-\d{1,2}-\d{2}"),
        ("2142-03-14", "DATE", r"\d{4}-\d{2}-\d{2}"),
        ("Oct 20th", "DATE", r"[A-Z][a-z]{2} \d{1,2}(st|nd|rd|th)"),
        ("'92", "DATE", r"'\d{2}"),
        ("[**Month (only) 359**]", "DATE", r"[A-Z][a-z]+"),
        ("[**12/2151**]", "DATE", r"\d{1,2}/\d{4}"),
        ("617-555-0142", "PHONE", r"\d{3}-\d{3}-\d{4}"),
        ("(301) 944 5032", "PHONE", r"\(\d{3}\) \d{3} \d{4}"),
        ("483920", "ID", r"\d{6}"),
        ("J. Smith", "NAME", r"[A-Z]\. [A-Z][a-z]+"),
        ("MARY JONES", "NAME", r"[A-Z]+ [A-Z]+"),
        ("[**Initials (NamePattern4) **]", "NAME", r"[A-Z]\. [A-Z]\."),
        ("Union Memorial", "HOSPITAL", r"[A-Z][a-z]+ [A-Z][A-Za-z ]+"),
        ("93", "AGE>89", r"90\+"),
        ("___", "PHI", r"\[PHI\]"),
    ],
)
def test_surrogate_keeps_the_shape(original, tag, shape):
    surrogate = Surrogates(1, "d")(original, tag)
    assert re.fullmatch(shape, surrogate), surrogate
    assert surrogate != original


def test_replace_option_is_validated_up_front(tmp_path):
    with pytest.raises((ConfigError, ValueError)):
        CurationConfig.model_validate({"deid": {"replace": "hashes"}})
    with pytest.raises(ValueError, match="replace"):
        Deidentifier(replace="hashes")


def test_curate_deid_with_surrogates_from_the_cli(tmp_path):
    source = tmp_path / "in"
    with make_writer(str(source)) as writer:
        writer.write(Document(text=NOTE, id="mimic3/1", metadata={"category": "clinical", "source": "mimic3"}))
    result = CliRunner().invoke(
        main, ["curate", "deid", str(source), "-o", str(tmp_path / "out"), "--set", "replace=surrogates"]
    )
    assert result.exit_code == 0, result.output
    (document,) = list(make_reader(str(tmp_path / "out")).run())
    assert "Okafor" not in document.text and "[NAME]" not in document.text
    bad = CliRunner().invoke(main, ["curate", "deid", str(source), "-o", str(tmp_path / "x"), "--set", "replace=no"])
    assert bad.exit_code == 2 and "replace" in bad.output
