"""Screenshots of an HR report with headless Chromium, for docs/ and for reviewing a change to the page:
overview, the internal-customer map, a drill-down (a pair's comments opened), the print preview and a
390-px phone view.

    python scripts/report_screenshots.py demo/report/report.html --out docs/screenshots

Needs `chromium-headless-shell` (or chromium), a CJK font (fonts-wqy-microhei) and `pdftoppm` (poppler-utils):
    apt-get install -y --no-install-recommends chromium-headless-shell fonts-wqy-microhei poppler-utils
The report is never modified: the drill-down and the section offsets are read from copies in a temporary folder
(a copy with the first pair's comments opened, and a copy that logs where each heading sits).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

WIDTH = 1280
PROBE = (
    "<script>window.addEventListener('load',function(){document.querySelectorAll('[id]').forEach(function(e){"
    "console.log('OFFSET '+e.id+' '+Math.round(e.getBoundingClientRect().top+window.scrollY));});"
    "console.log('HEIGHT '+document.documentElement.scrollHeight);});</script>"
)


def browser() -> str:
    for name in ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    sys.exit("error: no headless Chromium found (apt-get install chromium-headless-shell)")


def chromium(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)  # noqa: S603 - our own arguments


def offsets(page: Path, scratch: Path) -> tuple[dict[str, int], int]:
    probe = scratch / "probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    log = chromium(f"--window-size={WIDTH},1200", "--enable-logging=stderr", "--v=1", "--dump-dom", probe.as_uri())
    found = {m[1]: int(m[2]) for m in re.finditer(r'"OFFSET (\S+) (\d+)"', log.stderr)}
    height = re.search(r'"HEIGHT (\d+)"', log.stderr)
    return found, int(height[1]) if height else 12000


def full_page(page: Path, height: int, target: Path) -> Image.Image:
    chromium(f"--window-size={WIDTH},{height}", f"--screenshot={target}", page.as_uri())
    return load(target)


def load(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.copy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path, help="report.html")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    if not args.report.is_file():
        sys.exit(f"error: {args.report}: no such file")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        page = args.report.resolve()
        positions, height = offsets(page, scratch)
        whole = full_page(page, height, scratch / "full.png")
        whole.crop((0, 0, WIDTH, 1250)).save(args.out / "overview.png")
        top = max(positions.get("map", 0) - 16, 0)
        whole.crop((0, top, WIDTH, min(top + 1350, whole.height))).save(args.out / "map.png")

        opened = scratch / "opened.html"  # the first pair's comments opened, as a click opens them
        html = page.read_text(encoding="utf-8")
        start = html.find('id="pairs"')
        if start >= 0:
            at = html.find("<details>", start)
            html = html[:at] + "<details open>" + html[at + len("<details>") :]
        opened.write_text(html, encoding="utf-8")
        drill = full_page(opened, height + 1500, scratch / "opened.png")
        top = max(positions.get("pairs", 0) - 16, 0)
        drill.crop((0, top, WIDTH, min(top + 1000, drill.height))).save(args.out / "drill-down.png")

        pdf = scratch / "print.pdf"
        chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
        pdftoppm = shutil.which("pdftoppm") or sys.exit("error: pdftoppm not found (apt-get install poppler-utils)")
        pages_args = [pdftoppm, "-png", "-r", "50", "-f", "1", "-l", "3", str(pdf), str(scratch / "page")]
        subprocess.run(pages_args, check=True)  # noqa: S603 - our own arguments
        pages = [load(path) for path in sorted(scratch.glob("page-*.png"))]
        sheet = Image.new(
            "RGB", (sum(p.width for p in pages) + 20 * (len(pages) + 1), max(p.height for p in pages) + 40), "#8a9099"
        )
        x = 20
        for sheet_page in pages:
            sheet.paste(sheet_page, (x, 20))
            x += sheet_page.width + 20
        sheet.save(args.out / "print-preview.png")

        chromium("--window-size=390,1500", f"--screenshot={args.out / 'phone.png'}", page.as_uri())
    print(f"screenshots written to {args.out}: overview, map, drill-down, print-preview, phone")


if __name__ == "__main__":
    main()
