#!/usr/bin/env bash
# Drives the H5 cockpit page (GET /cockpit) in headless Chromium against the live server:
# signs in as the city and the Pudong leader, checks the charts hold data, drills down a
# ranking entry and back, and saves 390×844 screenshots. Run by tools/test's checks stage.
set -euo pipefail
exec python "$(dirname "$0")/cockpit_h5.py"
