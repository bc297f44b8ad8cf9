#!/usr/bin/env bash
# Signs in every demo account against the live server, with TOTP codes from pyotp (an
# implementation independent of the server's), and checks refresh rotation, reuse
# detection, logout and lockout. Run by tools/test's checks stage.
set -euo pipefail
exec python "$(dirname "$0")/login_all_roles.py"
