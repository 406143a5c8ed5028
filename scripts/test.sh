#!/usr/bin/env bash
# The test command of the README and of CI (.ci/run runs exactly `bash scripts/test.sh`).
#
# 1. Headless Chromium for the browser test of the reports (tests/report/test_browser.py): when
#    no Chromium is on PATH, apt-get exists and we are root (or CI=true, with sudo), install the
#    system's `chromium` package. Otherwise, or if the install fails, say that the browser test
#    will be skipped, and go on: this step never fails the run.
# 2. pip install -e ".[test]" && python -m pytest -n 2 --dist loadgroup (arguments are passed on).
set -euo pipefail
cd "$(dirname "$0")/.."

have_browser() {
    local name
    for name in chromium chromium-browser google-chrome google-chrome-stable; do
        command -v "$name" >/dev/null 2>&1 && return 0
    done
    return 1
}

install_browser() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if [ "${CI:-}" = "true" ] && command -v sudo >/dev/null 2>&1; then
            sudo="sudo -n"
        else
            return 1
        fi
    fi
    command -v apt-get >/dev/null 2>&1 || return 1
    echo "scripts/test.sh: installing chromium (apt-get) for the browser test of the reports"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium
}

if ! have_browser; then
    if ! { install_browser && have_browser; }; then
        echo "scripts/test.sh: no Chromium (needs apt-get and root, or CI=true with sudo);" \
            "the browser test of the reports will be skipped. To run it:" \
            "apt-get install -y chromium" >&2
    fi
fi

# Two worker processes (pytest-xdist), one per core of the CI machine; a test file's tests stay in
# one worker (--dist loadgroup, groups set in tests/conftest.py) so that its module fixtures are
# built once, and the model tests share one worker and their session fixtures.
# RISKMODEL_TEST_WORKERS sets another number (0 runs in this process, as plain pytest does).
pip install -e ".[test]" && python -m pytest -n "${RISKMODEL_TEST_WORKERS:-2}" --dist loadgroup "$@"
