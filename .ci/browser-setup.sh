#!/usr/bin/env bash
# `make browser-setup`: what the browser tests need. Debian's chromium (as
# root, when it is missing), and under target/browser, pinned,
# playwright-core (npx playwright install cannot download browsers here)
# and the official MCP TypeScript SDK, and the official Python SDK in a
# virtualenv.
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
packages=(playwright-core@1.65.2 @modelcontextprotocol/sdk@1.32.2)
installed() {
  node -e 'const [name, version] = process.argv[1].split(/(?<=.)@/);
    process.exit(require(`./target/browser/node_modules/${name}/package.json`).version === version ? 0 : 1)' "$1" 2>/dev/null
}
for package in "${packages[@]}"; do
  if ! installed "$package"; then
    echo "browser-setup: installing ${packages[*]} into target/browser"
    npm install --prefix target/browser --no-audit --no-fund --silent "${packages[@]}"
    break
  fi
done
# The official Python SDK, in a virtualenv of its own.
if ! target/browser/pyenv/bin/python -c 'import importlib.metadata as m; assert m.version("mcp") == "2.3.0"' 2>/dev/null; then
  echo "browser-setup: installing the Python SDK (mcp 2.3.0) into target/browser/pyenv"
  python3 -m venv target/browser/pyenv
  target/browser/pyenv/bin/pip install --quiet --disable-pip-version-check mcp==2.3.0
fi
echo "browser-setup: $(/usr/bin/chromium --version 2>/dev/null), playwright-core $(node -p 'require("./target/browser/node_modules/playwright-core/package.json").version')"
