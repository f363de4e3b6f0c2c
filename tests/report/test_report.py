"""`medcorpus report`: a real demo run's report matches its manifest, escapes names, and renders in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from medcorpus.cli.main import main
from medcorpus.report.html import build_report, write_report

SECTIONS = ("sources", "funnel", "mix", "lengths", "deid", "decontam", "throughput")


class Tables(HTMLParser):
    """Every `<table id=...>` of a page as {id: [[cell text, ...] per body row]}."""

    def __init__(self, page: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.in_body = False
        self.cell: list[str] | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.current = dict(attrs)["id"]
            self.tables[self.current] = []
        elif tag == "tbody":
            self.in_body = True
        elif tag == "tr" and self.in_body:
            self.tables[self.current].append([])
        elif tag == "td" and self.in_body:
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.tables[self.current][-1].append("".join(self.cell))
            self.cell = None
        elif tag == "tbody":
            self.in_body = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def by_key(rows: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in rows}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    from medcorpus.run.config import validate
    from medcorpus.run.demo import demo_config
    from medcorpus.run.runner import run

    out = tmp_path_factory.mktemp("report_demo")
    config = validate(demo_config(out, 2))
    run(config)
    return Path(config.output)


@pytest.mark.slow
def test_report_figures_equal_the_manifest(demo_run):
    manifest = json.loads((demo_run / "manifest.json").read_text())
    page = build_report(demo_run)
    tables = Tables(page).tables
    stages = {stage["name"]: stage for stage in manifest["stages"]}
    documents = [stage for stage in manifest["stages"] if "out" in stage]
    mix = manifest["mix"]

    per_source = by_key(tables["per-source"])
    assert set(per_source) == set(mix["sources"])
    for source, row in mix["sources"].items():
        curated = documents[-1]["out"][source]
        expected = [row["category"], documents[0]["out"][source]["documents"], curated["documents"]]
        expected += [curated["tokens"], row["selected_documents"], row["achieved_tokens"]]
        assert per_source[source] == [str(value) for value in expected]

    funnel = by_key(tables["funnel"])
    for stage in documents:
        assert funnel[f"after {stage['name']}"] == [str(sum(v["documents"] for v in stage["out"].values()))]
    removals = {(r[0], r[1], r[2]): int(r[3]) for r in tables["removals"]}
    expected = {(s["name"], src, why): n for s in documents for src, r in s["removed"].items() for why, n in r.items()}
    assert removals == expected and removals

    categories = by_key(tables["mix-categories"])
    for category, row in mix["categories"].items():
        assert float(categories[category][0]) == pytest.approx(row["target_share"], abs=1e-4)
        assert float(categories[category][1]) == pytest.approx(row["achieved_share"], abs=1e-4)
        assert categories[category][2:] == [str(row["target_tokens"]), str(row["achieved_tokens"])]

    lengths = by_key(tables["lengths"])  # the tokenize stage's sidecars: every curated document
    for source, row in mix["sources"].items():
        assert lengths[source][0] == str(row["available_documents"])
        assert lengths[source][-1] == str(row["available_tokens"])

    deid = {k[len("deid_") :]: v for k, v in stages["deid"]["steps"]["de-identifier"].items()}
    deid = {k: str(v) for k, v in deid.items() if k not in ("documents", "skipped")}
    assert {k: v[0] for k, v in by_key(tables["deid-counts"]).items()} == deid and deid
    hits = {k: str(v["documents"]) for k, v in stages["decontam"]["benchmarks"].items()}
    assert {k: v[0] for k, v in by_key(tables["decontam-hits"]).items()} == hits and hits

    throughput = by_key(tables["throughput"])
    names, shared = set(), []  # steps that ran in one pipeline share a row: "clean + lang + quality"
    for stage in manifest["stages"]:
        shared.append(stage["name"])
        if not stage.get("ran_in"):
            names.add(" + ".join(shared))
            shared = []
    assert set(throughput) == names and "clean + lang + quality" in names
    assert all(float(row[0]) >= 0 for row in throughput.values())
    assert "not in this run" not in page
    assert page.count("<svg") == 6 + len(mix["sources"])  # six charts and one histogram per source


@pytest.mark.slow
def test_report_is_self_contained_and_holds_no_text(demo_run):
    import pyarrow.parquet as pq

    page = build_report(demo_run)
    assert not re.search(r"<script|<link|<img|<iframe|src=|href=|url\(|@import", page, re.IGNORECASE)
    assert set(re.findall(r"https?://[^\"' <]+", page)) <= {"http://www.w3.org/2000/svg"}
    texts = []
    for path in sorted((demo_run / "stages").glob("*_decontam/*/*.parquet")):
        texts += pq.read_table(path, columns=["text"]).column("text").to_pylist()
    assert texts
    for text in texts:  # not a sentence of any document, clinical or not
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            if len(sentence) > 40:
                assert sentence not in page


@pytest.mark.slow
def test_report_command_and_moved_run(demo_run, tmp_path):
    target = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", str(demo_run), "-o", str(target)])
    assert result.exit_code == 0, result.output
    before = Tables(target.read_text()).tables
    moved = tmp_path / "moved"
    shutil.copytree(demo_run, moved)
    hidden = demo_run.with_name(demo_run.name + "_hidden")
    demo_run.rename(hidden)  # the manifest's absolute stage paths no longer exist
    try:
        after = Tables(write_report(moved).read_text()).tables
    finally:
        hidden.rename(demo_run)
    assert after.keys() == before.keys()
    for key in before:
        if key not in ("about", "throughput"):
            assert after[key] == before[key], key


def test_missing_pieces_are_shown_not_crashed(tmp_path):
    page = build_report(tmp_path)
    for section in SECTIONS:
        body = re.search(rf'<section id="{section}">(.*?)</section>', page).group(1)
        assert "not in this run" in body


def test_names_are_escaped_and_stage_folders_read_without_manifest(tmp_path):
    stats = tmp_path / "stages" / "01_sources" / "stats"
    stats.mkdir(parents=True)
    name = "<script>alert('x')</script>&"
    (stats / "00000.json").write_text(json.dumps({name: {"documents": 3, "characters": 30, "tokens": 12}}))
    page = build_report(tmp_path)
    assert name not in page and "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;" in page
    rows = Tables(page).tables["per-source"]
    assert rows == [[name, "unknown", "3", "3", "12", "0", "0"]]
    assert by_key(Tables(page).tables["funnel"])["read"] == ["3"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    pytest.skip("no chromium on PATH (Debian: apt-get install -y chromium)")


@pytest.mark.slow
def test_report_renders_in_headless_chromium(demo_run, tmp_path):
    browser = chromium()
    page = write_report(demo_run, tmp_path / "report.html")
    flags = [browser, "--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr", "--v=0"]
    flags += [f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line or "Refused to" in line]
    assert console == []  # no script errors, no blocked (network) loads
    html = page.read_text()
    assert dom.stdout.count("<svg") == html.count("<svg") >= 7
    assert dom.stdout.count("<rect") == html.count("<rect") > 20
    assert "Throughput per stage" in dom.stdout and "sample_medqa" in dom.stdout
    shot = tmp_path / "report.png"
    cmd = [*flags, "--window-size=1100,3000", f"--screenshot={shot}", page.as_uri()]
    subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
