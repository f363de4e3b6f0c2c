"""Curation of instruction examples turn by turn (cleaning, de-identification, boilerplate, language), with
plain documents processed exactly as one text, as before."""

from __future__ import annotations

import json

import pytest
from datatrove.data import Document
from support.helpers import read_all
from support.paths import SAMPLES

from medcorpus.curation.clean.boilerplate import BoilerplateCounter, BoilerplateFinder, BoilerplateRemover
from medcorpus.curation.clean.cleaner import TextCleaner
from medcorpus.curation.deid.deidentifier import Deidentifier, replace_spans
from medcorpus.curation.deid.surrogates import Surrogates
from medcorpus.curation.language.filter import LanguageFilter
from medcorpus.documents import join_turns, make_document
from medcorpus.sources.general import GeneralReader
from medcorpus.sources.instructions import InstructionReader
from medcorpus.sources.mimic.reader import MimicReader

# Invented people, places and numbers.
NOTE = "Seen by Dr. Quillon Marchetti on 3/14/2142. Daughter Ysolde Marchetti called 617-555-0142."
SECRETS = ("Quillon", "Marchetti", "Ysolde", "3/14/2142", "617-555-0142")


def example(*turns: tuple[str, str], doc_id: str = "instruction:s:1", category: str = "biomedical") -> Document:
    listed = [{"role": role, "content": content} for role, content in turns]
    return make_document(
        join_turns(listed), doc_id, source="s", category=category, license="l", kind="instruction", turns=listed
    )


def agree(document: Document) -> bool:
    return document.text == join_turns(document.metadata["turns"])


def test_cleaner_cleans_each_turn_and_counts_a_rule_once_per_example():
    turns = [("system", "Be  brief.\u200b"), ("user", "What is caf\u00c3\u00a9 au lait?  ")]
    doc = example(*turns, ("assistant", "A <b>skin</b> macule."))
    cleaner = TextCleaner()
    assert list(cleaner.run([doc])) == [doc]
    assert [turn["content"] for turn in doc.metadata["turns"]] == [
        "Be brief.", "What is caf\u00e9 au lait?", "A skin macule."
    ]  # fmt: skip
    assert agree(doc)
    assert cleaner.stats["changed_whitespace"].total == 1  # two turns changed, one document
    assert cleaner.stats["changed_html_tag"].total == 1


def test_cleaner_excludes_examples_whose_answer_or_prompt_is_emptied():
    cleaner = TextCleaner()
    no_answer = example(("user", "Define anaemia."), ("assistant", " <br/> \x00"))
    no_prompt = example(("system", "Be brief."), ("user", "<p></p>"), ("assistant", "A low haemoglobin."))
    kept = example(("user", "Define anaemia."), ("assistant", "x"), ("user", "<br>"), ("assistant", "Low haemoglobin."))
    assert cleaner.filter(no_answer) == (False, "empty_answer_after_cleaning")
    assert cleaner.filter(no_prompt) == (False, "empty_prompt_after_cleaning")
    assert cleaner.filter(kept) == (True, None)
    assert kept.text == "Define anaemia.\n\nx\n\nLow haemoglobin." and agree(kept)


@pytest.fixture(scope="module")
def plain_documents(shared_data) -> list[Document]:
    documents = list(GeneralReader([str(shared_data / "general/dolma_test_data")]).run())
    return documents + list(MimicReader([str(SAMPLES / "mimic")]).run())


def copies(documents: list[Document]) -> list[Document]:
    return [Document(text=d.text, id=d.id, metadata=dict(d.metadata)) for d in documents]


def test_plain_documents_are_cleaned_as_one_text_as_before(plain_documents):
    step, alone = TextCleaner(remove_urls=True), TextCleaner(remove_urls=True)
    expected = [alone.clean(d.text) for d in plain_documents]
    kept = list(step.run(copies(plain_documents)))
    assert [d.text for d in kept] == [text for text in expected if text]
    assert len(kept) > 600 and any(a != b.text for a, b in zip(expected, plain_documents))
    counts = {key: value for key, value in step.stats.to_dict()["stats"].items() if key.startswith("changed_")}
    assert counts == {key: value for key, value in alone.stats.to_dict()["stats"].items() if key.startswith("changed_")}


@pytest.fixture(scope="module")
def deid() -> Deidentifier:
    return Deidentifier(categories=["clinical"])


def test_plain_notes_are_deidentified_as_one_text_as_before(plain_documents, deid):
    notes = [d for d in plain_documents if d.metadata["category"] == "clinical"]
    assert len(notes) >= 5
    for doc in deid.run(copies(notes)):
        original = next(d.text for d in notes if d.id == doc.id)
        spans = deid.phi_spans(original)
        assert doc.text == deid.deidentify(original)[0] and doc.metadata["phi_spans"] == [list(s) for s in spans]
    surrogate_step = Deidentifier(replace="surrogates", seed=5)
    surrogate_step._detector = deid.detector
    for doc in surrogate_step.run(copies(notes[:3])):
        original = next(d.text for d in notes if d.id == doc.id)
        assert doc.text == replace_spans(original, deid.phi_spans(original), Surrogates(5, doc.id))[0]


def test_clinical_instruction_example_is_deidentified_turn_by_turn(tmp_path, deid):
    record = {
        "instruction": "Summarise the note.",
        "input": NOTE,
        "output": "Dr. Marchetti saw the patient; the daughter Ysolde Marchetti phoned.",
    }
    path = tmp_path / "notes_sft.jsonl"
    path.write_text(json.dumps(record) + "\n")
    (doc,), _ = read_all(InstructionReader([str(path)], name="note_sft", category="clinical"))
    original = doc.text
    (out,) = deid.run([doc])
    assert not any(secret in out.text for secret in SECRETS) and agree(out)
    assert out.metadata["turns"][1]["content"] == "Dr. [NAME] saw the patient; the daughter [NAME] [NAME] phoned."
    assert "[DATE]" in out.metadata["turns"][0]["content"] and "[PHONE]" in out.metadata["turns"][0]["content"]
    found = [original[start:end] for start, end, _tag in out.metadata["phi_spans"]]  # offsets in the input text
    assert {"Marchetti", "Ysolde", "3/14/2142", "617-555-0142"} <= set(found) and found[-1] == "Marchetti"
    assert sum(out.metadata["deid"].values()) == len(found)
    (doc,), _ = read_all(InstructionReader([str(path)], name="note_sft", category="clinical"))
    step = Deidentifier(replace="surrogates", seed=3)
    step._detector = deid.detector
    (swapped,) = step.run([doc])
    prompt, answer = (turn["content"] for turn in swapped.metadata["turns"])
    assert agree(swapped) and "Marchetti" not in swapped.text
    surname = answer.split()[1]  # "Dr. <surrogate> saw ...": the same stand-in in both turns
    assert surname in prompt.split() and surname != "Marchetti"


def test_biomedical_instruction_examples_pass_deid_untouched(deid):
    doc = example(("user", "Who described the sign?"), ("assistant", "Dr. Quillon Marchetti, in 1901."))
    (out,) = deid.run([doc])
    assert out.text == "Who described the sign?\n\nDr. Quillon Marchetti, in 1901." and "phi_spans" not in out.metadata


def test_boilerplate_leaves_instruction_examples_alone(tmp_path):
    instruction = "Answer this question truthfully and completely"
    docs = [example(("user", f"{instruction}\nWhat is stage {i}?"), ("assistant", f"Stage {i}.")) for i in range(6)]
    counter = BoilerplateCounter(str(tmp_path / "counts"))
    assert len(list(counter.run(iter(docs)))) == 6
    list(BoilerplateFinder(str(tmp_path / "counts"), str(tmp_path / "lines"), min_documents=5).run(None))
    assert json.loads((tmp_path / "lines" / "boilerplate.json").read_text()) == {}
    words = ["first", "second", "third", "fourth", "fifth", "sixth"]
    bodies = [f"The {word} page of this site says something of its own." for word in words]
    plain = [Document(text=f"{instruction}\n{body}", id=body, metadata={"source": "s"}) for body in bodies]
    list(BoilerplateCounter(str(tmp_path / "counts2")).run(iter(plain)))
    list(BoilerplateFinder(str(tmp_path / "counts2"), str(tmp_path / "lines2"), min_documents=5).run(None))
    remover = BoilerplateRemover(str(tmp_path / "lines2"))
    assert [d.text for d in remover.run(iter(plain + docs[:1]))] == [*bodies, docs[0].text]


def test_language_filter_reads_the_examples_text():
    step = LanguageFilter(seed=0)
    english = example(("user", "Which drug is first-line for type 2 diabetes in adults?"), ("assistant", "Metformin."))
    german = example(
        ("user", "Welches Medikament wird bei Typ-2-Diabetes zuerst gegeben?"),
        ("assistant", "Metformin ist das Mittel der ersten Wahl bei Erwachsenen."),
        doc_id="instruction:s:2",
    )
    assert step.filter(english) is True and english.metadata["language"] == "en"
    assert step.filter(german) == (False, "language_de")
