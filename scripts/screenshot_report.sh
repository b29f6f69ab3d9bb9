#!/usr/bin/env bash
# Render a report.html to a PNG offline with headless Chromium, to look at the report without a desktop.
#
#   scripts/screenshot_report.sh REPORT_DIR/report.html [OUT.png] [HEIGHT]
#
# Needs a headless Chromium and a font with Chinese glyphs (Debian/Ubuntu, as root):
#   apt-get install -y --no-install-recommends chromium-headless-shell fonts-wqy-microhei
# (the full `chromium` package works too). Without a CJK font the Chinese text renders as boxes; the report
# itself names common CJK fonts in its CSS, so any reader's browser draws it properly.
set -euo pipefail

html=${1:?usage: $0 REPORT.html [OUT.png] [HEIGHT]}
out=${2:-docs/report-screenshot.png}
height=${3:-2400}
[ -f "$html" ] || { echo "error: $html: no such file" >&2; exit 1; }

browser=""
for candidate in chromium-headless-shell chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then browser=$candidate; break; fi
done
[ -n "$browser" ] || { echo "error: no headless Chromium found (apt-get install chromium-headless-shell)" >&2; exit 1; }
if command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh)" ]; then
    echo "warning: no font with Chinese glyphs (fc-list :lang=zh is empty); apt-get install fonts-wqy-microhei" >&2
fi

mkdir -p "$(dirname "$out")"
url="file://$(cd "$(dirname "$html")" && pwd)/$(basename "$html")"
# --no-sandbox: containers running as root cannot use Chromium's sandbox; the page is our own, has no scripts.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="1280,$height" \
    --screenshot="$out" "$url" >/dev/null 2>&1
[ -s "$out" ] || { echo "error: $browser wrote no screenshot" >&2; exit 1; }
echo "screenshot written to $out"
