#!/usr/bin/env bash
# Opens a demo report (default out/demo/index.html) in headless Chromium and checks that the page loads and
# that every clip on it decodes in a real browser (the page counts clips that fire `loadeddata`).
# Installs Debian's chromium when missing. Writes a screenshot next to the page.
# Usage: scripts/check_report_in_browser.sh [out/demo/index.html]
set -euo pipefail
page="${1:-out/demo/index.html}"
[ -f "$page" ] || { echo "error: no report at $page (run make demo first)" >&2; exit 1; }
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "installing chromium (Debian package) for the headless check"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  browser="$(command -v chromium)"
fi
url="file://$(cd "$(dirname "$page")" && pwd)/$(basename "$page")"
flags=(--headless --no-sandbox --disable-gpu --mute-audio --autoplay-policy=no-user-gesture-required
       --allow-file-access-from-files --virtual-time-budget=15000)
dom="$("$browser" "${flags[@]}" --dump-dom "$url" 2>/dev/null)"
status="$(grep -o '<p id="video-status"[^>]*>[^<]*' <<<"$dom" || true)"
[ -n "$status" ] || { echo "FAIL: the page did not render (no status line)" >&2; exit 1; }
ok="$(sed -n 's/.*data-ok="\([0-9]*\)".*/\1/p' <<<"$status")"
failed="$(sed -n 's/.*data-failed="\([0-9]*\)".*/\1/p' <<<"$status")"
total="$(sed -n 's/.*data-total="\([0-9]*\)".*/\1/p' <<<"$status")"
shot="$(dirname "$page")/screenshot.png"
"$browser" "${flags[@]}" --window-size=1200,1600 --screenshot="$shot" "$url" >/dev/null 2>&1 || true
echo "chromium: ${status##*>} (screenshot: $shot)"
if [ "${total:-0}" -gt 0 ] && [ "$ok" = "$total" ] && [ "$failed" = "0" ] && grep -q '<svg' <<<"$dom" && grep -q 'Total' <<<"$dom"; then
  echo "PASS: $total clips decode, scores and curves present"
else
  echo "FAIL: ok=$ok failed=$failed total=$total" >&2; exit 1
fi
