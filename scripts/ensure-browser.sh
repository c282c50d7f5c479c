#!/usr/bin/env bash
# The report test opens reports/index.html in a real headless browser: Debian's Chromium.
# Never fatal: without it that one test is skipped.
set -u
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null \
  && exit 0
exec "$(dirname "$0")/apt-ensure.sh" chromium browser "the headless-browser test of the report is skipped"
