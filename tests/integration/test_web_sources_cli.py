"""`qa add URL...`, `qa sync` and `qa index --reextract` against a real HTTP server on 127.0.0.1
(tests/news_site.py). A site added by a real `qa` process with the real model is searched over
HTTP and measured with `qa eval` against the `.txt` seeds; the rest runs `qa.cli.main` in this
process with the fake encoder (what it checks does not depend on the model)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from qa.indexing.web_articles import web_article_name
from qa.search.encoders.sentence_transformer import SentenceTransformerEncoder
from qa.search.store import EmbeddedStore, load_store
from qa.search.store.versions import VERSIONS
from qa.settings import Settings
from tests.conftest import MODELS, ROOT, SEEDS, FakeEncoder, make_settings, run_module
from tests.integration.test_cli import Output, configure, run_main
from tests.integration.test_documents import serving
from tests.news_site import Route, Site, SiteServer, build_site, seed_articles

QUESTIONS = ROOT / "eval" / "questions.jsonl"
UNANSWERABLE = ROOT / "eval" / "unanswerable.jsonl"
# The figures `qa eval --json` prints for a whole question set.
FIGURES = ("hit@1", "hit@5", "recall@1", "recall@5", "mrr@10", "ndcg@10", "answer@1", "answer@5")


@dataclass(frozen=True)
class WebSeeds:
    site: Site
    settings: Settings
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def web_seeds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebSeeds]:
    """The seed articles as a news site's pages, added by `qa add SITEMAP` (a real process,
    the real model) into an empty corpus."""
    work = tmp_path_factory.mktemp("web-seeds")
    with SiteServer(work / "site") as server:
        site = build_site(server.folder, seed_articles(), base_url=server.base_url, pdf=False)
        settings = make_settings(work / "index", work / "corpus")
        env = {
            "QA_CORPUS_DIR": str(settings.corpus_dir),
            "QA_INDEX_DIR": str(settings.index_dir),
            "QA_FETCH_RATE_PER_HOST": "100",
        }
        added = run_module("qa.cli", "add", site.sitemap_url, cwd=work, env=env)
        assert added.returncode == 0, added.stderr
        yield WebSeeds(site, settings, added.stdout, added.stderr)


def test_qa_add_of_a_sitemap_then_search_finds_a_pages_passage(
    web_seeds: WebSeeds, encoder: SentenceTransformerEncoder
) -> None:
    index = load_store(web_seeds.settings.index_dir, web_seeds.settings.model)
    (summary,) = web_seeds.stdout.splitlines()
    assert re.fullmatch(
        "5 added, 0 updated, 0 unchanged, 0 removed, 0 skipped; feeds and sitemaps read: 1; "
        rf"version {index.manifest.version} published in [0-9.]+ s "
        rf"\({index.count()} passages, {index.count()} embedded\)",
        summary,
    ), summary
    assert web_seeds.stderr == ""  # no progress display when not on a terminal
    page = next(p for p in web_seeds.site.pages if p.article.source == "002_5f75a4b7e3170e15.txt")

    with serving(web_seeds.settings, encoder) as client:
        answer = client.post(
            "/search",
            json={"question": "Comment s'appelle la puce IA que développe ByteDance ?", "k": 3},
        )

    assert answer.status_code == 200, answer.text
    best = answer.json()["results"][0]
    assert best["source"] == web_article_name(page.url, "html")
    assert (best["url"], best["title"]) == (page.url, page.article.title)
    assert "SeedChip" in best["text"]


def relevant_as_pages(site: Site, folder: Path) -> Path:
    """The project's question set, each relevant seed file named as its page's article."""
    names = {p.article.source: web_article_name(p.url, "html") for p in site.pages}
    lines = []
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        question = json.loads(line)
        question["relevant"] = [names[name] for name in question["relevant"]]
        lines.append(json.dumps(question, ensure_ascii=False))
    path = folder / "questions-pages.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_qa_eval_answers_as_well_from_the_html_pages_as_from_the_txt_seeds(
    web_seeds: WebSeeds,
    monkeypatch: pytest.MonkeyPatch,
    encoder: SentenceTransformerEncoder,
    real_index: EmbeddedStore,
    settings: Settings,
    tmp_path: Path,
) -> None:
    configure(monkeypatch, encoder, settings.index_dir)  # the session's index of seeds/*.txt
    unanswerable = ("--unanswerable", str(UNANSWERABLE), "--json")
    as_text = run_main("eval", str(QUESTIONS), *unanswerable)
    web = web_seeds.settings
    as_pages = run_main(
        "eval",
        str(relevant_as_pages(web_seeds.site, tmp_path)),
        *unanswerable,
        "--corpus",
        str(web.corpus_dir),
        "--index-dir",
        str(web.index_dir),
    )

    assert as_text.status == as_pages.status == 0, as_text.stderr + as_pages.stderr
    text_report, page_report = json.loads(as_text.stdout), json.loads(as_pages.stdout)
    print({figure: (text_report[figure], page_report[figure]) for figure in FIGURES})
    for figure in FIGURES:  # 72 questions: 0.03 is two of them
        assert abs(text_report[figure] - page_report[figure]) <= 0.03, figure
    flagged = [
        sum(q["answerable"] == q["expected_answerable"] for q in report["questions"])
        for report in (text_report, page_report)
    ]
    assert abs(flagged[0] - flagged[1]) <= 2


# --- in this process, with the fake encoder -------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SiteServer]:
    with SiteServer(tmp_path / "site") as server:
        yield server


@pytest.fixture
def site(server: SiteServer) -> Site:
    return build_site(server.folder, seed_articles()[:3], base_url=server.base_url, pdf=False)


@pytest.fixture
def web(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """`qa` configured by its environment over an empty corpus, with the fake encoder."""
    for name in [name for name in os.environ if name.startswith("QA_")]:
        monkeypatch.delenv(name)
    settings = make_settings(tmp_path / "index", tmp_path / "corpus", model=FakeEncoder.model_id)
    for name, value in {
        "QA_MODEL_CACHE_DIR": MODELS,
        "QA_MODEL": FakeEncoder.model_id,
        "QA_CORPUS_DIR": settings.corpus_dir,
        "QA_INDEX_DIR": settings.index_dir,
        "QA_FETCH_RATE_PER_HOST": 100,
    }.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setattr("qa.cli.commands._encoder", lambda _settings: FakeEncoder())
    return settings


def a_scanned_pdf() -> bytes:
    from fpdf import FPDF

    scan = FPDF()
    scan.add_page()
    scan.rect(20, 20, 100, 150, style="F")  # a picture of a page: no text layer
    return bytes(scan.output())


def lines(output: str) -> list[str]:
    return output.strip().splitlines()


def test_qa_add_takes_files_and_urls_together_one_line_per_skip_and_one_summary(
    web: Settings, site: Site, server: SiteServer
) -> None:
    server.routes["/scan.pdf"] = Route(body=a_scanned_pdf(), content_type="application/pdf")
    short = b"<!DOCTYPE html><html><body><p>Trois mots seulement.</p></body></html>"
    server.routes["/short"] = Route(body=short, content_type="text/html")
    seed = sorted(SEEDS.glob("*.txt"))[4]
    page = site.pages[0]

    output = run_main(
        "add", str(seed), page.url, server.url("/scan.pdf"), server.url("/short"), "--wait", "5"
    )

    assert output.status == 0, output.stderr
    assert lines(output.stderr) == [
        f"qa: skipped {server.url('/scan.pdf')}: not a PDF with text (the PDF has no text "
        "layer (a scan? it needs OCR first))",
        f"qa: skipped {server.url('/short')}: not an article (no article text in the page "
        "(3 words of main text))",
    ]
    (summary,) = lines(output.stdout)
    assert summary.startswith(
        "1 added, 0 updated, 0 unchanged, 0 removed, "
        "2 skipped (not a PDF with text: 1, not an article: 1); feeds and sitemaps read: 0; "
        "version "
    )
    index = load_store(web.index_dir, web.model)
    assert sorted(index.sources) == sorted([seed.name, web_article_name(page.url, "html")])
    assert len(list((web.index_dir / VERSIONS).iterdir())) == 1  # one publication for both


def test_qa_sync_rereads_the_saved_sources_private_addresses_as_the_setting_says(
    web: Settings, site: Site, server: SiteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    nothing = run_main("sync")
    assert nothing.status == 1
    assert lines(nothing.stderr) == [
        f"qa: error: no source saved in {web.corpus_dir} to sync: add a page, feed or sitemap "
        "with `qa add URL` first"
    ]
    kept, gone = site.pages[0], site.pages[1]
    assert run_main("add", kept.url, gone.url).status == 0

    refused = run_main("sync")  # what the service fetches by itself: no loopback by default
    assert refused.status == 0, refused.stderr
    assert [line.split(": ")[1] for line in lines(refused.stderr)] == [
        f"skipped {kept.url}",
        f"skipped {gone.url}",
    ]
    assert all("private address" in line for line in lines(refused.stderr))
    assert lines(refused.stdout)[0].endswith("nothing to publish")

    monkeypatch.setenv("QA_SYNC_ALLOW_PRIVATE", "true")
    assert lines(run_main("sync").stdout)[0].startswith("0 added, 0 updated, 2 unchanged")
    server.routes[gone.path] = Route(status=404)
    kept_gone = run_main("sync")
    assert "1 gone but kept (--prune removes them)" in kept_gone.stdout
    pruned = run_main("sync", "--prune")

    assert pruned.status == 0, pruned.stderr
    assert lines(pruned.stdout)[0].startswith("0 added, 0 updated, 1 unchanged, 1 removed")
    assert sorted(load_store(web.index_dir, web.model).sources) == [
        web_article_name(kept.url, "html")
    ]


def test_qa_index_reextract_extracts_every_file_again(web: Settings, site: Site) -> None:
    page = site.pages[2]
    name = web_article_name(page.url, "html")
    assert run_main("add", page.url).status == 0
    # What an older extractor would have left in the cache for these very bytes.
    (entry,) = (web.index_dir / "extracted").glob("*.json")
    extracted = json.loads(entry.read_text(encoding="utf-8"))
    extracted["text"] = "Une extraction d'un ancien extracteur, à refaire entièrement."
    entry.write_text(json.dumps(extracted), encoding="utf-8")

    cached = run_main("index")
    assert cached.status == 0, cached.stderr
    assert "ancien extracteur" in load_store(web.index_dir, web.model).sources[name].text

    again: Output = run_main("index", "--reextract")

    assert again.status == 0, again.stderr
    text = load_store(web.index_dir, web.model).sources[name].text
    assert "ancien extracteur" not in text
    assert max(page.article.body, key=len) in text
