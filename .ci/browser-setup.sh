#!/usr/bin/env bash
# `make browser-setup`: what the browser tests need. Debian's chromium (as
# root, when it is missing) and playwright-core, pinned, under
# target/browser (npx playwright install cannot download browsers here).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "browser-setup: installing chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    echo "browser-setup: needs /usr/bin/chromium: sudo apt-get install chromium" >&2
    exit 1
  fi
fi
mkdir -p target/browser
if [ ! -f target/browser/node_modules/playwright-core/package.json ]; then
  echo "browser-setup: installing playwright-core into target/browser"
  npm install --prefix target/browser --no-audit --no-fund --silent playwright-core@1.65.2
fi
echo "browser-setup: $(/usr/bin/chromium --version 2>/dev/null), playwright-core $(node -p 'require("./target/browser/node_modules/playwright-core/package.json").version')"
