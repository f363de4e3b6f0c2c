"""Instruction layouts beyond the chat ones: question/answer, prompt/completion, MedQA and MedMCQA as published;
precedence, task defaults, and answers that stop mid-sentence."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.helpers import read_all

from medcorpus.sources.instructions import InstructionReader, record_turns, truncated

# Written here; no example comes from a published set.
OPTIONS = {"A": "Aspirin", "B": "Metformin", "C": "Insulin glargine", "D": "Sitagliptin"}
QUESTION = "Which drug is first-line for type 2 diabetes?"
PROMPT = f"{QUESTION}\n\nA. Aspirin\nB. Metformin\nC. Insulin glargine\nD. Sitagliptin"


def write_jsonl(path, records) -> str:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return str(path)


def answers(reader: InstructionReader) -> tuple[list[str], list[str]]:
    documents, rejects = read_all(reader)
    return [d.metadata["turns"][-1]["content"] for d in documents], [reason for reason, _ in rejects]


def test_question_answer_and_prompt_completion():
    qa = {"context": "Serum potassium was 6.1 mmol/L.", "question": "Is this hyperkalaemia?", "answer": "Yes"}
    assert record_turns(qa) == [
        {"role": "user", "content": "Serum potassium was 6.1 mmol/L.\n\nIs this hyperkalaemia?"},
        {"role": "assistant", "content": "Yes"},
    ]
    listed = {"context": ["First.", " Second. "], "question": "Q?", "answer": 7}
    assert record_turns(listed)[0]["content"] == "First.\n\nSecond.\n\nQ?" and record_turns(listed)[1]["content"] == "7"
    legacy = {"prompt": "Define bradycardia.\n\n###\n\n", "completion": " A heart rate below 60 per minute. END"}
    assert record_turns(legacy) == [
        {"role": "user", "content": "Define bradycardia."},
        {"role": "assistant", "content": "A heart rate below 60 per minute."},
    ]
    arrow = {"prompt": "Define tachycardia ->", "completion": " A fast heart rate.\n###"}
    assert [turn["content"] for turn in record_turns(arrow)] == ["Define tachycardia", "A fast heart rate."]


def test_medqa_as_published(tmp_path, shared_data):
    path = shared_data / "benchmarks/medqa_us_4options/phrases_no_exclude_test.jsonl"
    documents, rejects = read_all(InstructionReader([str(path)], name="medqa"))
    assert len(documents) == 1273 and not rejects
    first = json.loads(path.open().readline())
    letters = "\n".join(f"{key}. {value}" for key, value in first["options"].items())
    assert documents[0].metadata["turns"] == [
        {"role": "user", "content": f"{first['question']}\n\n{letters}"},
        {"role": "assistant", "content": f"{first['answer_idx']}. {first['answer']}"},
    ]
    assert {d.metadata["task"] for d in documents} == {"multiple_choice"}
    assert {d.metadata["layout"] for d in documents} == {"medqa"}


def test_medqa_answer_by_text_or_letter_and_bad_answers(tmp_path):
    records = [
        {"question": QUESTION, "options": OPTIONS, "answer_idx": "B", "answer": "Metformin"},
        {"question": QUESTION, "options": OPTIONS, "answer": "Metformin"},  # no letter: found by its text
        {"question": QUESTION, "options": list(OPTIONS.values()), "answer_idx": "B"},  # options as a list
        {"question": QUESTION, "options": OPTIONS, "answer_idx": "E", "answer": "Metformin"},
        {"question": QUESTION, "options": OPTIONS, "answer": "Pioglitazone"},
        {"question": QUESTION, "options": OPTIONS},
    ]
    found, reasons = answers(InstructionReader([write_jsonl(tmp_path / "medqa.jsonl", records)]))
    assert found == ["B. Metformin"] * 3
    assert reasons == ["bad_answer", "bad_answer", "no_answer"]
    assert record_turns(records[0])[0]["content"] == PROMPT


@pytest.fixture
def medmcqa_example(shared_data) -> dict:
    return json.loads((shared_data / "benchmarks/medmcqa_readme_example/medmcqa_readme_example.json").read_text())


def test_medmcqa_original_counts_from_one_and_parquet_from_zero(tmp_path, medmcqa_example):
    record = medmcqa_example
    expected = f"A. Leukemoid reaction\n\n{record['exp']}"  # cop 1 in the README example: the first option
    found, reasons = answers(InstructionReader([write_jsonl(tmp_path / "dev.json", [record])], name="medmcqa"))
    assert found == [expected] and not reasons
    documents, _ = read_all(InstructionReader([write_jsonl(tmp_path / "dev.jsonl", [record])], name="medmcqa"))
    assert documents[0].metadata["turns"][0]["content"] == (
        f"{record['question']}\n\nA. Leukemoid reaction\nB. Leukopenia\nC. Myeloid metaplasia\nD. Neutrophilia"
    )
    assert documents[0].id == f"instruction:medmcqa:{record['id']}"
    assert documents[0].metadata["task"] == "multiple_choice"
    hub = [record | {"cop": 0}, record | {"cop": 3, "exp": None}]  # the Hugging Face copy: 0-3, in Parquet
    pq.write_table(pa.Table.from_pylist(hub), tmp_path / "train.parquet")
    found, _ = answers(InstructionReader([str(tmp_path / "train.parquet")]))
    assert found == [expected, "D. Neutrophilia"]
    zero_based = write_jsonl(tmp_path / "hub.jsonl", hub)
    assert answers(InstructionReader([zero_based], cop_base=0))[0] == found
    assert answers(InstructionReader([zero_based]))[1] == ["bad_answer"]  # cop 0 under the 1-4 reading


def test_medmcqa_unpublished_answers_and_bad_cop(tmp_path):
    base = {"question": QUESTION, "opa": "Aspirin", "opb": "Metformin", "opc": "Insulin", "opd": "Sitagliptin"}
    records = [base | {"cop": 2}, base | {"cop": -1}, base, base | {"cop": 5}]
    found, reasons = answers(InstructionReader([write_jsonl(tmp_path / "test.jsonl", records)]))
    assert found == ["B. Metformin"] and reasons == ["no_answer", "no_answer", "bad_answer"]
    with pytest.raises(ValueError, match="cop_base"):
        InstructionReader([write_jsonl(tmp_path / "x.jsonl", records)], cop_base=2)


def test_layout_precedence_and_task(tmp_path):
    records = [
        {"instruction": "Answer this question truthfully", "input": "What is HbA1c?", "output": "Glycated haemoglobin.",
         "question": "unused", "answer": "unused"},
        {"question": QUESTION, "options": OPTIONS, "answer_idx": "B", "answer": "Metformin", "task": "exam"},
        {"question": QUESTION, "opa": "Aspirin", "opb": "Metformin", "cop": 2, "options": OPTIONS, "answer": "x"},
        {"question": "What is HbA1c?", "answer": "Glycated haemoglobin.", "prompt": "p", "completion": "c"},
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}],
         "conversations": [{"from": "human", "value": "unused"}, {"from": "gpt", "value": "unused"}]},
    ]  # fmt: skip
    documents, _ = read_all(InstructionReader([write_jsonl(tmp_path / "mixed.jsonl", records)], task="qa"))
    layouts = [(d.metadata["layout"], d.metadata["task"]) for d in documents]
    assert layouts == [
        ("alpaca", "qa"), ("medqa", "exam"), ("medmcqa", "qa"), ("question_answer", "qa"), ("sharegpt", "qa"),
    ]  # fmt: skip
    restricted, _ = read_all(InstructionReader([write_jsonl(tmp_path / "r.jsonl", records[1:2])], restricted=True))
    assert restricted[0].metadata["restricted"] is True and "restricted" not in documents[0].metadata
    assert documents[0].metadata["turns"][0]["content"] == "Answer this question truthfully\n\nWhat is HbA1c?"
    assert documents[4].metadata["turns"][0]["content"] == "unused"


def test_bad_turns_are_rejected(tmp_path):
    records = [{"messages": [{"role": "narrator", "content": "x"}, {"role": "assistant", "content": "y"}]}]
    records.append({"conversations": ["human: hi", "gpt: hello"]})
    assert answers(InstructionReader([write_jsonl(tmp_path / "bad.jsonl", records)]))[1] == ["bad_turn", "bad_turn"]


CUT = [
    "The first-line treatment is metformin, which", "Causes include:", "Risk factors are obesity, smoking,",
    "Avoid NSAIDs; ", "Treat with anti-", "It acts by inhibiting the", "Give 5 mg of", "Common signs are fever and",
    "Prescribe it to a", "The options are (a) rest and (b", 'He was told "stop the', "Start metformin \u2014",
    "Monitor renal function --", "Insulin -", "Start an ACE inhibitor such as",
]  # fmt: skip
WHOLE = [
    "Metformin", "Yes", "No.", "42", "3.5 mg/dL", "120/80", "Metformin (a biguanide)", "Vitamin A", "Cyclin a",
    "Taken to the OR", "ER+ and HER2-", "Rh-", "A", "B. Leukopenia", "The patient is 5'4\" tall", "and so on",
    "Symptoms set in", "See the references...", "1) rest 2) ice", 'It is called "metformin"',
    'D. Deep vein thrombosis\n"', "Infusion [see protocol]", "Loop diuretics, e.g. furosemide",
]  # fmt: skip


@pytest.mark.parametrize("answer", CUT)
def test_truncated_answers_are_found(answer):
    assert truncated(answer)


@pytest.mark.parametrize("answer", WHOLE)
def test_complete_answers_pass(answer):
    assert not truncated(answer)


def test_reader_rejects_truncated_answers_unless_told_not_to(tmp_path):
    records = [{"question": "Q?", "answer": answer} for answer in ("Metformin", "It is given with the")]
    turns = [("user", "Q1"), ("assistant", "First,"), ("user", "Go on"), ("assistant", "done.")]  # a cut middle turn
    records.append({"messages": [{"role": role, "content": content} for role, content in turns]})
    path = write_jsonl(tmp_path / "cut.jsonl", records)
    assert answers(InstructionReader([path])) == (["Metformin"], ["truncated_answer", "truncated_answer"])
    assert len(answers(InstructionReader([path], check_truncation=False))[0]) == 3


def test_pubmedqa_as_published_keyed_by_pmid(shared_data):
    path = shared_data / "benchmarks/pubmedqa/ori_pqal.json"
    documents, rejects = read_all(InstructionReader([str(path)], name="pubmedqa"))
    published = json.loads(path.read_text())
    assert len(documents) == len(published) == 1000 and not rejects
    first_pmid, first = next(iter(published.items()))
    assert documents[0].id == f"instruction:pubmedqa:{first_pmid}"
    assert documents[0].metadata["turns"] == [
        {"role": "user", "content": "\n\n".join(first["CONTEXTS"] + [first["QUESTION"]])},
        {"role": "assistant", "content": f"{first['LONG_ANSWER']}\n\nAnswer: {first['final_decision']}"},
    ]
    assert {(d.metadata["layout"], d.metadata["task"]) for d in documents} == {("pubmedqa", "yes_no_maybe")}
    bad = {"QUESTION": "Does it work?", "CONTEXTS": ["It was tried."], "final_decision": "perhaps"}
    assert record_turns({"QUESTION": "Q?", "CONTEXTS": "C.", "final_decision": "no"})[1]["content"] == "Answer: no"
    with pytest.raises(ValueError, match="bad_answer"):
        record_turns(bad)
