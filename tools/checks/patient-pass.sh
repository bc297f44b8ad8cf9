#!/usr/bin/env bash
# A fresh patient's visit pass, checked without the server's code: signs in a new patient,
# answers the fever pre-check, books the current window at the demo kiosk's site, decodes
# pass.png and pass.svg with zxing-cpp, verifies the token offline with tools/kiosk_offline.py
# (gmssl) against GET /api/v1/keys, and validates the FHIR R4 questionnaire with fhir.resources.
# The offline verifier's and the SVG rasterizer's own unit tests run first (no server needed).
# Run by tools/test's checks stage.
set -euo pipefail
here=$(dirname "$0")
py="${HC_VENV:+$HC_VENV/bin/}python"
"$py" "$here/patient_pass_selftest.py"
exec "$py" "$here/patient_pass.py"
