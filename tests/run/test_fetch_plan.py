"""The fetch planner: recipes' `fetch:` specs as downloads and crawls, bad specs named by key, shared targets once."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.paths import EXAMPLES

from medcorpus.run.config import ConfigError, load_config, validate
from medcorpus.run.fetch import Crawl, HubDownload, Mirror, check_urls, plan
from medcorpus.sources.download.replay_sets import PRESETS
from medcorpus.sources.guidelines.adapters import ADAPTERS

NLM = "https://ftp.ncbi.nlm.nih.gov"


def recipe(name: str) -> tuple[dict, Path]:
    plans = plan(load_config(EXAMPLES / name, check_inputs=False))
    return {item.name: item for item in plans}, (EXAMPLES.parent / "data").resolve()


def test_meditron_recipe_plan():
    plans, data = recipe("meditron_gap_replay.yaml")
    assert list(plans) == ["guidelines", "pubmed_guidelines", "pmc", "pubmed", "replay"]
    guidelines = plans["guidelines"].actions
    assert [a.site for a in guidelines] == list(ADAPTERS) and len(ADAPTERS) == 16
    assert guidelines[0] == Crawl("aafp", str(data / "guidelines" / "aafp"))
    assert (plans["pubmed_guidelines"].mode, plans["pubmed_guidelines"].actions) == ("check", [])
    assert plans["pubmed_guidelines"].shared_with == "pubmed"
    assert [(a.url, a.dest) for a in plans["pubmed"].actions] == [
        (f"{NLM}/pubmed/baseline/", str(data / "pubmed" / "baseline")),
        (f"{NLM}/pubmed/updatefiles/", str(data / "pubmed" / "updatefiles")),
    ]
    pmc = plans["pmc"].actions
    assert [a.url for a in pmc] == [f"{NLM}/pub/pmc/oa_bulk/{s}/xml/" for s in ("oa_comm", "oa_noncomm", "oa_other")]
    assert [a.dest for a in pmc] == [str(data / "pmc" / s) for s in ("oa_comm", "oa_noncomm", "oa_other")]
    assert "oa_comm_xml.incr.*.tar.gz" in pmc[0].patterns and "oa_comm_xml.PMC*.baseline.*.tar.gz" in pmc[0].patterns
    preset = PRESETS["redpajama-sample"]
    assert plans["replay"].actions == [
        HubDownload(preset.repo, preset.include, "main", "text", str(data / "replay"), max_tokens=500_000_000)
    ]


def test_me_llama_recipe_plan_never_downloads_mimic():
    plans, data = recipe("me_llama.yaml")
    assert {name: item.mode for name, item in plans.items()} == {
        "pmc": "fetch",
        "pubmed": "fetch",
        "mimic": "credentialed",
        "replay": "fetch",
    }
    assert plans["mimic"].actions == [] and plans["mimic"].shared_with is None
    assert plans["replay"].actions[0].max_tokens is None and plans["replay"].actions[0].dest == str(data / "replay")


def config(tmp_path: Path, sources: dict) -> dict:
    return {"output": str(tmp_path / "out"), "sources": sources, "mix": {"ratios": {"biomedical": 1}}}


def test_the_same_download_is_planned_once(tmp_path):
    pubmed = {"type": "pubmed", "inputs": [str(tmp_path / "pubmed")]}
    raw = config(
        tmp_path,
        {
            "a": pubmed | {"fetch": {"kind": "baseline"}},
            "b": pubmed | {"fetch": {}},  # the default kind: baseline, the same files
            "c": pubmed | {"fetch": {"kind": "all"}},
            "d": {"type": "pubmed", "inputs": [str(tmp_path / "pubmed" / "baseline" / "*.xml.gz")]},
            "e": {"type": "pubmed", "inputs": [str(tmp_path / "pubmed-other")]},
        },
    )
    plans = {item.name: item for item in plan(validate(raw, check_inputs=False))}
    assert [a.dest for a in plans["a"].actions] == [str(tmp_path / "pubmed" / "baseline")]
    assert (plans["b"].actions, plans["b"].shared_with) == ([], "a")
    assert [a.dest for a in plans["c"].actions] == [str(tmp_path / "pubmed" / "updatefiles")]
    assert (plans["d"].mode, plans["d"].shared_with) == ("check", "a")
    assert (plans["e"].mode, plans["e"].shared_with) == ("check", None)
    only = plan(validate(raw, check_inputs=False), ["c", "d"])
    assert [a.dest for a in only[0].actions] == [str(tmp_path / "pubmed" / s) for s in ("baseline", "updatefiles")]
    assert only[1].shared_with == "c"


def test_url_overrides_reach_every_kind(tmp_path):
    raw = config(
        tmp_path,
        {
            "pubmed": {"type": "pubmed", "inputs": [str(tmp_path / "p")], "fetch": {"kind": "updates"}},
            "pmc": {"type": "pmc", "inputs": [str(tmp_path / "c")], "fetch": {"subsets": ["oa_other"]}},
            "g": {"type": "guidelines", "inputs": [str(tmp_path / "g")], "fetch": {"sites": ["nice", "rch", "nice"]}},
            "r": {"type": "general", "inputs": [str(tmp_path / "r")], "fetch": {"repo": "a/b", "include": ["*.jsonl"]}},
            "i": {
                "type": "instructions",
                "inputs": [str(tmp_path / "i")],
                "fetch": {"repo": "m/f", "include": ["*.json"]},
            },
        },
    )
    urls = {
        "pubmed": "http://m/pubmed",
        "pmc": "http://m/pmc/",
        "general": "http://hub",
        "guidelines": "http://g/",
        "guidelines.rch": "http://rch/",
    }
    plans = plan(validate(raw, check_inputs=False), urls=urls)
    assert plans[0].actions == [
        Mirror("http://m/pubmed/updatefiles/", ("pubmed*n*.xml.gz",), str(tmp_path / "p/updatefiles"))
    ]
    assert plans[1].actions[0].url == "http://m/pmc/oa_other/xml/"
    assert [(a.site, a.base_url) for a in plans[2].actions] == [("nice", "http://g/"), ("rch", "http://rch/")]
    assert plans[3].actions[0].endpoint == "http://hub" and plans[3].actions[0].include == ("*.jsonl",)
    assert (plans[4].actions[0].repo, plans[4].actions[0].dest) == ("m/f", str(tmp_path / "i"))
    for bad in ({"hub": "http://x"}, {"guidelines.nowhere": "http://x"}, {"pubmed.x": "http://x"}, {"pmc": "ftp://x"}):
        with pytest.raises(ValueError):
            check_urls(bad)


BAD_SPECS = [
    ("replay", "general", {"preset": "x"}, "sources.replay.fetch.preset: unknown preset 'x'"),
    ("replay", "general", {"preset": "slimpajama", "repo": "a/b"}, "sources.replay.fetch: give preset"),
    ("replay", "general", {"repo": "a/b"}, "sources.replay.fetch: repo: needs include"),
    ("replay", "general", {"repo": "not a repo", "include": ["*"]}, "sources.replay.fetch.repo:"),
    ("replay", "general", {"preset": "slimpajama", "max_tokens": 0}, "sources.replay.fetch.max_tokens:"),
    ("pubmed", "pubmed", {"kind": "yearly"}, "sources.pubmed.fetch.kind: unknown kind 'yearly'"),
    ("pubmed", "pubmed", {"kind": "all", "bogus": 1}, "sources.pubmed.fetch.bogus: Extra inputs"),
    ("pmc", "pmc", {"subsets": ["oa_comm", "oa_all"]}, "sources.pmc.fetch.subsets: unknown subset 'oa_all'"),
    ("pmc", "pmc", {"subsets": []}, "sources.pmc.fetch.subsets:"),
    ("g", "guidelines", {"sites": ["nice", "nowhere"]}, "sources.g.fetch.sites: unknown site 'nowhere'"),
    ("g", "guidelines", {}, "sources.g.fetch.sites: Field required"),
    ("g", "guidelines", {"sites": ["nice"], "delay": -1}, "sources.g.fetch.delay:"),
    ("mimic", "mimic", {}, "sources.mimic.fetch: MIMIC is credentialed"),
]


@pytest.mark.parametrize(("name", "kind", "spec", "message"), BAD_SPECS)
def test_bad_specs_name_the_key(tmp_path, name, kind, spec, message):
    raw = config(tmp_path, {name: {"type": kind, "inputs": [str(tmp_path / name)], "fetch": spec}})
    with pytest.raises(ConfigError) as error:
        plan(validate(raw, check_inputs=False))
    assert str(error.value).startswith(message)


@pytest.mark.parametrize("first", ["s3://bucket/pubmed", "{tmp}/pubmed/*.xml.gz"])
def test_fetch_needs_a_local_folder_as_first_input(tmp_path, first):
    raw = config(tmp_path, {"p": {"type": "pubmed", "inputs": [first.format(tmp=tmp_path)], "fetch": {}}})
    with pytest.raises(ConfigError, match="^sources.p.inputs: fetch writes into the first input"):
        plan(validate(raw, check_inputs=False))


def test_only_names_a_source(tmp_path):
    raw = config(tmp_path, {"p": {"type": "pubmed", "inputs": [str(tmp_path)]}})
    with pytest.raises(ConfigError, match="--only q: no such source"):
        plan(validate(raw, check_inputs=False), ["q"])


def test_printed_urls_hide_credentials_but_keep_the_port():
    from medcorpus.run.fetching import public

    assert public("http://u:secret@mirror.local:8080/pub/") == "http://mirror.local:8080/pub/"
    assert public("https://ftp.ncbi.nlm.nih.gov/pubmed/") == "https://ftp.ncbi.nlm.nih.gov/pubmed/"
