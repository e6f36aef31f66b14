"""`adrs dashboard` in a real browser (playwright driving the system's Chromium): the
runs page follows a live run, a candidate shows its code and diff, hostile content
runs nothing, the compare view shows two runs; read-only, token, PostgreSQL."""

import json
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import FIXTURES

pytest.importorskip("starlette", reason="pip install 'adrs[dashboard]'")
uvicorn = pytest.importorskip("uvicorn", reason="pip install 'adrs[dashboard]'")

from adrs.dashboard.app import make_app  # noqa: E402
from adrs.dashboard.catalog import Catalog  # noqa: E402
from adrs.loop import Search  # noqa: E402
from adrs.mutate.fake_server import FakeOpenAIServer  # noqa: E402
from adrs.runs import start_run  # noqa: E402
from adrs.store.records import CandidateRecord, Status  # noqa: E402

TARGET = str(FIXTURES / "target_number")
DOCS = Path(__file__).parents[1] / "docs"
XSS = ('<script>window.pwned=1</script>"><img src=x onerror="window.pwned=1">'
       '<a href="javascript:window.pwned=1">x</a>\x1b[31m')


class Served:
    """The dashboard on a free loopback port, in a thread, until closed."""

    def __init__(self, catalog, token=None):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(make_app(catalog, token), host="127.0.0.1",
                                                    port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()

    def close(self):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def browser():
    sync = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no system Chromium (apt install chromium)")
    with sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield b
        b.close()


def _shot(page, name, tmp_path):
    """A screenshot: into docs/ with ADRS_UPDATE_SCREENSHOTS=1, else the test's tmp."""
    out = DOCS if os.environ.get("ADRS_UPDATE_SCREENSHOTS") == "1" else tmp_path
    page.screenshot(path=str(out / f"dashboard_{name}.png"), full_page=True)


def _run(archive, name, iterations, **overrides):
    ctx = start_run(TARGET, name=name, db=None, archive=archive, config_file=None,
                    overrides={"iterations": iterations, **overrides})
    return ctx


def test_a_live_run_advances_on_the_runs_page_and_a_candidate_shows_its_code(
        browser, tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    with FakeOpenAIServer(latency=0.05) as model:
        ctx = _run(archive, "live", 120, mutator={"kind": "llm", "model": "fake",
                                                  "base_url": model.url, "concurrency": 1},
                   search={"in_flight": 1})
        search = threading.Thread(target=Search(ctx, progress=False).run)
        served = Served(Catalog(archive))
        page = browser.new_page()
        try:
            search.start()
            page.goto(served.url + "/")
            cell = page.locator("span.iterations").first
            cell.wait_for()
            page.evaluate("window.sameDocument = 1")
            first = int(cell.text_content().split("/")[0])
            page.wait_for_function(
                f"() => parseInt(document.querySelector('span.iterations').textContent) > "
                f"{first} + 3", timeout=30000)
            assert page.evaluate("window.sameDocument") == 1  # no reload: it updated itself
            assert page.locator(".status-running").count() == 1
            _shot(page, "runs", tmp_path)
            search.join(120)
            page.locator("a.run-link").first.click()
            page.locator("#lineage a.node").last.wait_for()
            page.wait_for_selector("svg.chart polyline")
            _shot(page, "run", tmp_path)
            page.locator("#lineage a.node").last.click()
            page.locator("#source").wait_for()
            assert "def guess" in page.locator("#source").text_content()
            assert page.locator("#diff span.add").count() >= 1
            assert "SEARCH" in page.locator("#prompt").text_content() or \
                "Current program" in page.locator("#prompt").text_content()
            _shot(page, "candidate", tmp_path)
        finally:
            page.close()
            served.close()
    assert ctx.store.get_run("live").status == "finished"


def test_hostile_content_runs_no_script(browser, tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    ctx = _run(archive, "x" + "y", 4)
    Search(ctx, progress=False).run()
    parent = ctx.store.best(ctx.run.id, 1)[0]
    call = ctx.store.add_llm_call(ctx.run.id, model=XSS, prompt=XSS, response=XSS,
                                  iteration=99)
    cid = ctx.store.add_candidate(ctx.run.id, CandidateRecord(
        iteration=99, source=f"# {XSS}\ndef guess(scale):\n    return 1.0\n",
        syntactic_hash="x", status=Status.OK, parent_id=parent.id, score=1e9,
        metrics={XSS: 1.0, "score": 1e9}, mutation=XSS, artifacts={XSS: XSS},
        llm_call_id=call))
    served = Served(Catalog(archive))
    page = browser.new_page()
    try:
        for view in ("#/", "#/run/xy", f"#/candidate/xy/{cid}"):
            page.goto(served.url + "/" + view)
            page.wait_for_selector("main#view h1")
            page.wait_for_timeout(300)
            assert page.evaluate("window.pwned") is None, view
            assert page.locator("main img, main script").count() == 0, view
        shown = page.locator("main").text_content()
        assert "<script>window.pwned=1</script>" in shown  # shown as text
        assert "\x1b" not in shown
        hrefs = page.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href'))")
        assert not any("javascript" in (h or "") for h in hrefs)
    finally:
        page.close()
        served.close()


def test_the_compare_view_shows_two_runs(browser, tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    for name, seed in (("seed0", 0), ("seed1", 1)):
        Search(_run(archive, name, 30, seed=seed), progress=False).run()
    served = Served(Catalog(archive))
    page = browser.new_page()
    try:
        page.goto(served.url + "/")
        for name in ("seed0", "seed1"):
            page.locator(f"input.pick[value='{name}']").check()
        page.locator("#compare").click()
        page.wait_for_selector("svg.chart polyline")
        series = page.eval_on_selector_all("svg.chart polyline",
                                           "els => els.map(e => e.dataset.series)")
        assert sorted(series) == ["seed0", "seed1"]
        _shot(page, "compare", tmp_path)
    finally:
        page.close()
        served.close()


def _ensemble_run(archive, name, db=None):
    """A finished run of two fake models (a bandit between them), with a failure."""
    with FakeOpenAIServer(fault="server_error", fault_every=7) as model:
        ctx = start_run(TARGET, name=name, db=db, archive=archive, config_file=None,
                        overrides={"iterations": 24, "mutator": {
                            "kind": "llm", "models": {"big": 2, "small": 1}, "bandit": True,
                            "base_url": model.url, "max_retries": 0,
                            "breaker_failures": 0}})
        Search(ctx, progress=False).run()
    return ctx


def _check_run_page(page, url, name):
    """The run page's charts over time, per model and per failure reason, the islands'
    populations and the Pareto view, each clickable through to a candidate."""
    page.goto(f"{url}/#/run/{name}")
    page.wait_for_selector("#over-time svg polyline")
    assert page.locator("#over-time polyline").count() == 1
    assert "seconds" in page.locator("#over-time").text_content()
    models = page.eval_on_selector_all("#models-over-time svg:first-of-type polyline",
                                       "els => els.map(e => e.dataset.series)")
    assert sorted(set(models)) == ["big", "small"]
    failures = page.eval_on_selector_all("#failures-over-time polyline",
                                         "els => els.map(e => e.dataset.series)")
    assert any(f.startswith("mutation:") for f in failures), failures
    assert page.locator("#populations a.member").count() >= 2
    page.select_option("#pareto-x", "guess")
    page.select_option("#pareto-y", "score")
    page.wait_for_selector("#pareto circle.front")
    assert page.locator("#pareto circle").count() >= page.locator("#pareto circle.front").count()
    front = page.locator("#pareto circle.front").first.get_attribute("data-id")
    page.wait_for_timeout(2500)  # a refresh keeps the chosen axes
    assert page.locator("#pareto-x").input_value() == "guess"
    page.locator("#pareto circle.front").first.dispatch_event("click")
    page.wait_for_selector("#source")
    assert page.locator("h1").text_content() == f"Candidate #{front}"
    page.goto(f"{url}/#/run/{name}")
    page.locator("#populations a.member").first.click()
    page.wait_for_selector("#source")


def test_the_run_page_shows_time_models_failures_populations_and_pareto(browser, tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    _ensemble_run(archive, "ensemble")
    served = Served(Catalog(archive))
    page = browser.new_page()
    try:
        _check_run_page(page, served.url, "ensemble")
        page.goto(f"{served.url}/#/run/ensemble")
        page.wait_for_selector("#models-over-time svg polyline")
        _shot(page, "run_details", tmp_path)
    finally:
        page.close()
        served.close()


def test_the_browser_views_work_on_postgresql(browser, fresh_postgres_url, tmp_path):
    _ensemble_run(tmp_path, "pg-ensemble", db=fresh_postgres_url)
    served = Served(Catalog(db=fresh_postgres_url, names=("pg-ensemble",)))
    page = browser.new_page()
    try:
        page.goto(served.url + "/")
        page.wait_for_selector("a.run-link")
        assert page.locator("a.run-link").text_content() == "pg-ensemble"
        _check_run_page(page, served.url, "pg-ensemble")
    finally:
        page.close()
        served.close()


def test_it_is_read_only_and_a_token_guards_it(tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    Search(_run(archive, "r", 3), progress=False).run()
    served = Served(Catalog(archive), token="s3cret")
    try:
        with pytest.raises(urllib.error.HTTPError) as denied:
            served.get("/api/runs")
        assert denied.value.code == 401
        status, headers, body = served.get("/api/runs?token=s3cret")
        assert status == 200 and json.loads(body)[0]["name"] == "r"
        assert "HttpOnly" in headers["set-cookie"] and "script-src 'self'" in \
            headers["content-security-policy"]
        req = urllib.request.Request(served.url + "/api/runs?token=s3cret", method="POST")
        with pytest.raises(urllib.error.HTTPError) as post:
            urllib.request.urlopen(req, timeout=10)
        assert post.value.code == 405
    finally:
        served.close()


def test_it_reads_runs_from_postgresql(postgres_url, tmp_path):
    ctx = start_run(TARGET, name="dash-pg", db=postgres_url, archive=tmp_path,
                    config_file=None, overrides={"iterations": 6})
    Search(ctx, progress=False).run()
    served = Served(Catalog(db=postgres_url, names=("dash-pg",)))
    try:
        runs = json.loads(served.get("/api/runs")[2])
        assert [r["name"] for r in runs] == ["dash-pg"] and runs[0]["iterations"] == 6
        detail = json.loads(served.get("/api/runs/dash-pg")[2])
        assert detail["series"][-1]["iteration"] == 6 and detail["lineage"]
    finally:
        served.close()


def test_without_the_extra_the_command_names_the_install(monkeypatch, capsys):
    import builtins

    from adrs.cli import main

    real = builtins.__import__

    def no_uvicorn(name, *args, **kwargs):
        if name == "uvicorn":
            raise ImportError("no uvicorn", name="uvicorn")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_uvicorn)
    assert main(["dashboard"]) == 2
    assert "pip install 'adrs[dashboard]'" in capsys.readouterr().err


def test_a_running_runs_charts_are_remade_no_more_often_than_their_cost_allows(
        tmp_path, monkeypatch):
    from adrs import archive as arc
    from adrs.dashboard import views

    archive = tmp_path / "archive"
    archive.mkdir()
    ctx = _run(archive, "live", 4)
    Search(ctx, progress=False).run()
    ctx.update_run(status="running")  # as a controller's run looks while it goes on
    clock = [1000.0]
    monkeypatch.setattr(views.time, "monotonic", lambda: clock[0])
    heavy = views._heavy

    def slow_heavy(*args):  # each remake takes 0.5 s on the clock
        clock[0] += 0.5
        return heavy(*args)

    monkeypatch.setattr(views, "_heavy", slow_heavy)
    views._PAGES.clear()

    def page():
        return views.run_detail(arc.open(archive / "live"))

    def add(iteration):
        ctx.store.add_candidate(ctx.run.id, CandidateRecord(
            iteration=iteration, source=f"x = {iteration}\n", syntactic_hash=f"{iteration:064x}",
            status=Status.OK, score=-1.0, parent_id=None))

    first = page()
    (made, cost), = ((p.made, p.cost) for p in views._PAGES.values())
    assert cost == 0.5
    add(5)
    clock[0] = made + cost * views.REMAKE_AFTER / 2
    kept = page()
    assert kept["series"] == first["series"] and kept["iterations"] == 5  # headline fresh
    clock[0] = made + cost * views.REMAKE_AFTER + 1.0
    assert page()["series"][-1]["iteration"] == 5
    add(6)
    ctx.update_run(status="finished")  # a run that ended: its final charts at once
    assert page()["series"][-1]["iteration"] == 6
