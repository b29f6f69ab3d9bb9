"""The report page in a real browser: no console errors, and the filters change what is shown. Runs where a
headless Chromium is installed (the README's screenshot set-up); skipped with the reason elsewhere (CI)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from feedbackml.report import build_report
from tests.report.test_internal import OPTIONS, survey
from tests.test_report import write_csv

BROWSER = next(
    (
        found
        for name in ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
        if (found := shutil.which(name))
    ),
    None,
)
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no headless Chromium here (apt-get install chromium-headless-shell runs this check)"
)
ROW = re.compile(r'<tr data-f="" data-group="([^"]*)"( hidden="")?')


def open_page(url: str) -> tuple[str, str]:
    """The DOM after the page's script ran, and the browser's log (console messages included)."""
    done = subprocess.run(
        [
            str(BROWSER),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=1",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout, done.stderr


def console_errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    build_report(write_csv(folder / "scored.csv", survey()), folder / "report", OPTIONS)
    return folder / "report" / "report.html"


def test_the_page_runs_without_console_errors_and_hides_nothing_unfiltered(page: Path) -> None:
    dom, log = open_page(page.as_uri())
    assert console_errors(log) == []
    rows = ROW.findall(dom)
    assert rows and not any(hidden for _, hidden in rows)
    assert "内部客户地图" in dom


def test_a_department_filter_in_the_address_hides_the_other_departments(page: Path) -> None:
    dom, log = open_page(page.as_uri() + "#group=" + quote("销售部"))
    assert console_errors(log) == []
    rows = ROW.findall(dom)
    shown = {name for name, hidden in rows if not hidden}
    hidden = {name for name, hidden in rows if hidden}
    assert "销售部" in shown and {"生产部", "财务部"} <= hidden
    assert all("销售部" in name.split("\u241f") for name in shown)  # a pair row stays when either side matches
    assert "已隐藏" in dom  # the page says how much the filter hid


def test_the_check_sees_a_script_error(tmp_path: Path) -> None:
    """The control: the same check on a page whose script fails reports it."""
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>notDefined();</script></body></html>", encoding="utf-8")
    _, log = open_page(broken.as_uri())
    assert any("notDefined" in line for line in console_errors(log))
