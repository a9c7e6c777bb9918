#!/usr/bin/env bash
# Makes sure Debian's chromium and the e2e folder's playwright-core are installed (no
# browser download). Sourced by the scripts that drive a headless browser.
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
fi
(cd "$root/e2e" && npm ci --no-audit --no-fund --loglevel=error)
