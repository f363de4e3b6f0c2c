"""Carry out a fetch plan with the library functions `medcorpus sources ... download|crawl` call (`mirror`,
`hub.download`, `crawl`: resumable, so a rerun fetches nothing it holds), then say per source what was done."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from medcorpus.paths import InputError, expand_inputs
from medcorpus.run.fetch import Action, Crawl, HubDownload, Mirror, SourcePlan
from medcorpus.sources import reader_class

MIMIC_SETS = (
    ("MIMIC-III v1.4: NOTEEVENTS.csv.gz", "https://physionet.org/content/mimiciii/1.4/"),
    (
        "MIMIC-IV-Note v2.2: note/discharge.csv.gz, note/radiology.csv.gz",
        "https://physionet.org/content/mimic-iv-note/2.2/",
    ),
    ("MIMIC-CXR v2.0.0: mimic-cxr-reports.zip", "https://physionet.org/content/mimic-cxr/2.0.0/"),
)


@dataclass
class Tally:
    """What one source's downloads and crawls did."""

    downloaded: int = 0
    held: int = 0  # verified files already there (or, in a dry run, in the ledger)
    planned: int = 0  # dry run: files a run would fetch
    bytes: int = 0
    documents: int = 0
    fetched: int = 0  # crawled responses fetched by this run
    stored: int = 0  # crawled URLs taken from the raw store (or not modified)
    failures: list[str] = field(default_factory=list)

    def add_files(self, files: list) -> None:
        """Count `FileResult`s of a mirror or Hub download."""
        for result in files:
            if result.status == "failed":
                self.failures.append(f"{result.name}: {result.reason}")
            held = result.status == "skipped" or (result.status == "planned" and result.reason)
            self.held += bool(held)
            self.planned += result.status == "planned" and not result.reason
            self.downloaded += result.status == "downloaded"
            self.bytes += result.fetched


@dataclass
class Outcome:
    """One row of the summary; `notes` are printed before it (where to get credentialed files)."""

    name: str
    type: str
    status: str  # fetched | up-to-date | planned | shared | present | credentialed | missing | failed
    detail: str
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def public(url: str) -> str:
    """`url` without any user:password part (never printed)."""
    parts = urlsplit(url)
    hidden = parts.username or parts.password
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])) if hidden else url


def describe(action: Action) -> str:
    """One line naming what `action` fetches and where it puts it."""
    if isinstance(action, Mirror):
        return f"{public(action.url)} -> {action.dest}"
    if isinstance(action, HubDownload):
        from medcorpus.sources.download.hub import endpoint_url

        where = public(endpoint_url(action.endpoint))
        return f"{action.repo}@{action.revision} {list(action.include)} from {where} -> {action.dest}"
    source = f" from {public(action.base_url)}" if action.base_url else ""
    return f"crawl {action.site}{source} -> {action.dest}"


def perform(action: Action, dry_run: bool, tally: Tally) -> None:
    """Run one download or crawl (a dry run lists files and crawls nothing), adding to `tally`; never raises
    for a failed download."""
    from medcorpus.sources.download.hub import download
    from medcorpus.sources.download.mirror import MirrorError, mirror
    from medcorpus.sources.guidelines.crawl import CrawlError, StoreError, crawl

    try:
        if isinstance(action, Mirror):
            tally.add_files(mirror(action.url, action.dest, action.patterns, dry_run=dry_run).files)
        elif isinstance(action, HubDownload):
            report = download(
                action.repo,
                action.dest,
                action.include,
                revision=action.revision,
                endpoint=action.endpoint,
                text_key=action.text_key,
                max_files=action.max_files,
                max_tokens=action.max_tokens,
                dry_run=dry_run,
            )
            tally.add_files(report.files)
        elif not dry_run:
            report = crawl(
                action.site,
                action.dest,
                base_url=action.base_url,
                max_documents=action.max_documents,
                delay=action.delay,
                retries=action.retries,
                timeout=action.timeout,
            )
            tally.documents += report.documents
            tally.fetched += report.fetched
            tally.stored += report.cached + report.not_modified
            tally.failures += [f"{action.site}: {f.role} {f.url}: {f.reason}" for f in report.failures]
    except (MirrorError, CrawlError, StoreError, ValueError) as error:
        tally.failures.append(str(error))


def found(item: SourcePlan) -> tuple[int, str | None]:
    """How many files the source's reader would read, and why there are none (None when there are)."""
    try:
        return len(expand_inputs(item.inputs, reader_class(item.type).suffixes)), None
    except InputError as error:
        return 0, str(error)


def mimic_notes(item: SourcePlan) -> list[str]:
    """Where credentialed MIMIC files come from and where they go."""
    return [
        f"{item.name}: MIMIC is credentialed and never downloaded. With PhysioNet credentialed access (and each "
        f"data use agreement signed), place the files in {', '.join(item.inputs)}:",
        *(f"  {what}  {url}" for what, url in MIMIC_SETS),
    ]


def _done(item: SourcePlan, tally: Tally, dry_run: bool) -> tuple[str, str]:
    """The status and detail of a source that ran downloads or crawls."""
    crawls = [action.site for action in item.actions if isinstance(action, Crawl)]
    files = len(crawls) < len(item.actions)
    if dry_run:
        parts = [f"{tally.planned} files to fetch, {tally.held} already held"] if files else []
        parts += [f"would crawl {', '.join(crawls)}"] if crawls else []
        return "planned", "; ".join(parts)
    parts = [f"downloaded {tally.downloaded} files ({tally.bytes / 1e6:.1f} MB), {tally.held} already held"]
    parts = parts if files else []
    if crawls:
        parts.append(
            f"crawled {len(crawls)} site{'s' * (len(crawls) > 1)}: {tally.documents} documents "
            f"({tally.fetched} fetched, {tally.stored} from the store)"
        )
    fresh = tally.downloaded or tally.fetched
    return ("fetched" if fresh else "up-to-date"), "; ".join(parts)


def outcome(item: SourcePlan, tally: Tally, dry_run: bool) -> Outcome:
    """The summary row of one source, after its downloads (and every other source's) ran."""
    row = Outcome(item.name, item.type, "", "", tally.failures)
    count, missing = found(item)
    with_other = f"fetched with {item.shared_with}" if item.shared_with else ""
    if item.mode == "credentialed":
        row.status = "credentialed"
        row.detail = f"files already in place ({count})" if count else f"place files yourself: {missing}"
        row.notes = [] if count else mimic_notes(item)
    elif tally.failures:
        row.status = "failed"
        more = f" (and {len(tally.failures) - 1} more)" if len(tally.failures) > 1 else ""
        row.detail = tally.failures[0] + more
    elif item.actions:
        row.status, row.detail = _done(item, tally, dry_run)
        if missing and not dry_run:
            row.status, row.detail = "failed", f"{row.detail}; but nothing to read: {missing}"
            row.failures = [missing]
    elif item.shared_with and (dry_run or missing):
        row.status, row.detail = ("shared", with_other) if dry_run else ("missing", f"{with_other}, but {missing}")
    elif missing:
        row.status, row.detail = "missing", f"no fetch: spec; {missing}"
    else:
        row.status, row.detail = "present", f"{count} files" + (f", {with_other}" if with_other else "")
    return row


def execute(plans: list[SourcePlan], dry_run: bool = False, echo: Callable[[str], None] = print) -> list[Outcome]:
    """Run every source's actions in order (`echo` says what starts), then give one `Outcome` per source."""
    tallies = {}
    for item in plans:
        tallies[item.name] = tally = Tally()
        for action in item.actions:
            echo(f"{item.name}: {'would ' if dry_run else ''}{describe(action)}")
            perform(action, dry_run, tally)
    return [outcome(item, tallies[item.name], dry_run) for item in plans]


def summary(outcomes: list[Outcome], dry_run: bool = False) -> tuple[list[str], list[str]]:
    """The summary table (one row per source, columns aligned) and its final line; and the failed sources."""
    rows = [["SOURCE", "TYPE", "STATUS", "DETAIL"]] + [[o.name, o.type, o.status, o.detail] for o in outcomes]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = ["  ".join([*(cell.ljust(width) for cell, width in zip(row, widths)), row[3]]) for row in rows]
    failed = [o.name for o in outcomes if o.status == "failed"]
    counts = Counter(o.status for o in outcomes)
    lines.append(
        f"{'dry run, nothing written' if dry_run else 'fetch'}: {len(outcomes)} source{'s' * (len(outcomes) != 1)}, "
        + ", ".join(f"{count} {status}" for status, count in counts.items())
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return lines, failed
