"""Prints an access token for a demo staff account: password, then a TOTP code from pyotp.

Usage: sign_in.py BASE_URL DEMO_ACCOUNTS_JSON USERNAME
"""
import json
import sys

import pyotp
import requests

url, path, username = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
account = next(a for a in json.load(open(path, encoding="utf-8")) if a.get("username") == username)
challenge = requests.post(f"{url}/api/v1/auth/staff/login", json={"username": username, "password": account["password"]}, timeout=10)
challenge.raise_for_status()
tokens = requests.post(f"{url}/api/v1/auth/staff/mfa",
                       json={"mfaToken": challenge.json()["mfaToken"], "code": pyotp.TOTP(account["totpSecret"]).now()}, timeout=10)
tokens.raise_for_status()
print(tokens.json()["accessToken"])
