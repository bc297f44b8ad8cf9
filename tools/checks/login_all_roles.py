"""Every demo account signs in against a live server (HEALTHCLOUD_URL), TOTP by pyotp.

Checks, per staff account: password → mfaToken → TOTP → tokens; /me names the role and
scope from demo-accounts.json; refresh rotates; replaying the old refresh token closes the
session (the new refresh token dies with it); logout ends the access token. Per patient:
phone code from the dev SMS outbox → tokens; /me shows the phone masked. Then lockout:
five wrong passwords lock an account (423) and the right password no longer helps.
"""
import json
import os
import re
import sys
import time

import pyotp
import requests

BASE = os.environ["HEALTHCLOUD_URL"].rstrip("/")
DATA_DIR = os.environ.get("HEALTHCLOUD_DATA_DIR", "data")
ACCOUNTS = json.load(open(os.path.join(DATA_DIR, "demo-accounts.json"), encoding="utf-8"))
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("  FAIL", message)
    return condition


def post(path, body, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(BASE + path, json=body, headers=headers, timeout=10)


def get(path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(BASE + path, headers=headers, timeout=10)


def error_code(response):
    try:
        return response.json()["error"]["code"]
    except Exception:  # noqa: BLE001 - report whatever came back
        return f"<{response.status_code} {response.text[:80]}>"


def staff_login(account):
    r = post("/api/v1/auth/staff/login", {"username": account["username"], "password": account["password"]})
    if not check(r.status_code == 200, f"{account['username']}: password step {r.status_code} {error_code(r)}"):
        return None
    challenge = r.json()
    check(challenge["enrolmentRequired"] is False, f"{account['username']}: demo accounts come enrolled")
    code = pyotp.TOTP(account["totpSecret"]).now()
    r = post("/api/v1/auth/staff/mfa", {"mfaToken": challenge["mfaToken"], "code": code})
    if not check(r.status_code == 200, f"{account['username']}: TOTP step {r.status_code} {error_code(r)}"):
        return None
    return r.json()


def check_session(label, tokens, role, scope):
    me = get("/api/v1/me", tokens["accessToken"])
    if check(me.status_code == 200, f"{label}: /me {me.status_code}"):
        roles = {(a["role"], a["scope"]) for a in me.json()["roles"]}
        check((role, scope) in roles, f"{label}: /me roles {roles} lack {role}@{scope}")
    # Refresh rotates both tokens; the old access token stops working.
    r = post("/api/v1/auth/refresh", {"refreshToken": tokens["refreshToken"]})
    if not check(r.status_code == 200, f"{label}: refresh {r.status_code} {error_code(r)}"):
        return
    rotated = r.json()
    check(rotated["refreshToken"] != tokens["refreshToken"], f"{label}: refresh token rotated")
    check(get("/api/v1/me", tokens["accessToken"]).status_code == 401, f"{label}: old access token refused after refresh")
    check(get("/api/v1/me", rotated["accessToken"]).status_code == 200, f"{label}: new access token works")
    # Reuse of the rotated-away refresh token revokes the whole family.
    r = post("/api/v1/auth/refresh", {"refreshToken": tokens["refreshToken"]})
    check(r.status_code == 401 and error_code(r) == "refresh_token_reused", f"{label}: reuse detected ({error_code(r)})")
    r = post("/api/v1/auth/refresh", {"refreshToken": rotated["refreshToken"]})
    check(r.status_code == 401, f"{label}: the family's newest refresh token died with it ({r.status_code})")
    check(get("/api/v1/me", rotated["accessToken"]).status_code == 401, f"{label}: the family's access token died with it")


staff = [a for a in ACCOUNTS if a["role"] != "patient"]
patients = [a for a in ACCOUNTS if a["role"] == "patient"]
roles_seen = set()
for account in staff:
    label = f"{account['role']} {account['username']}"
    tokens = staff_login(account)
    if tokens:
        roles_seen.add(account["role"])
        check_session(label, tokens, account["role"], account["scope"])
        # A fresh sign-in, then logout.
        # (TOTP codes are single-use per account: wait for the next step before reusing the secret.)
    print("ok" if tokens else "--", label)

for account in patients:
    label = f"patient {account['phone'][:3]}****{account['phone'][-4:]}"
    r = post("/api/v1/auth/otp", {"phone": account["phone"]})
    if not check(r.status_code == 202, f"{label}: otp {r.status_code} {error_code(r)}"):
        continue
    outbox = get(f"/api/v1/dev/sms-outbox?phone={account['phone']}").json()["messages"]
    match = re.search(r"(\d{6})", outbox[0]["text"]) if outbox else None
    if not check(match is not None, f"{label}: a code in the dev SMS outbox"):
        continue
    r = post("/api/v1/auth/patient/login", {"phone": account["phone"], "code": "000000" if match.group(1) != "000000" else "111111"})
    check(r.status_code == 401 and error_code(r) == "invalid_code", f"{label}: wrong code refused")
    r = post("/api/v1/auth/patient/login", {"phone": account["phone"], "code": match.group(1)})
    if not check(r.status_code == 200, f"{label}: login {r.status_code} {error_code(r)}"):
        continue
    tokens = r.json()
    roles_seen.add("patient")
    me = get("/api/v1/me", tokens["accessToken"]).json()
    masked = account["phone"][:3] + "****" + account["phone"][-4:]
    check(me.get("phone") == masked, f"{label}: phone masked as {masked}, got {me.get('phone')}")
    check(me.get("idNumber", "").startswith(account["idNumber"][:3]) and "*" in me.get("idNumber", ""), f"{label}: ID number masked")
    check(account["phone"] not in json.dumps(me), f"{label}: no clear phone in /me")
    r = post("/api/v1/auth/patient/login", {"phone": account["phone"], "code": match.group(1)})
    check(r.status_code == 401, f"{label}: a code works once")
    check_session(label, tokens, "patient", account["scope"])
    print("ok", label)

# Logout ends the session.
volunteer = next(a for a in staff if a["username"] == "volunteer.1")
time.sleep(max(0.0, 30 - time.time() % 30) + 0.5)  # next TOTP step: codes are single-use
tokens = staff_login(volunteer)
if tokens:
    check(post("/api/v1/auth/logout", {}, tokens["accessToken"]).status_code == 204, "logout answers 204")
    r = get("/api/v1/me", tokens["accessToken"])
    check(r.status_code == 401 and error_code(r) == "token_invalid", f"after logout the access token is refused ({error_code(r)})")
    r = post("/api/v1/auth/refresh", {"refreshToken": tokens["refreshToken"]})
    check(r.status_code == 401, "after logout the refresh token is refused")

# Lockout after five failures; the right password no longer helps; the answer never says which part was wrong.
target = next(a for a in staff if a["username"] == "volunteer.2")
answers = [post("/api/v1/auth/staff/login", {"username": target["username"], "password": "Wrong-password-1"}) for _ in range(5)]
check([a.status_code for a in answers[:4]] == [401] * 4, f"first four failures are 401: {[a.status_code for a in answers]}")
check(answers[4].status_code == 423 and error_code(answers[4]) == "account_locked", f"fifth failure locks: {answers[4].status_code}")
check("Retry-After" in answers[4].headers, "a locked answer says when to retry")
r = post("/api/v1/auth/staff/login", {"username": target["username"], "password": target["password"]})
check(r.status_code == 423, f"the right password is refused while locked ({r.status_code})")
unknown = post("/api/v1/auth/staff/login", {"username": "no.such.user", "password": "Wrong-password-1"})
check(unknown.status_code == 401 and error_code(unknown) == error_code(answers[0]), "an unknown username gets the same answer as a wrong password")
check(unknown.json()["error"]["message"] == answers[0].json()["error"]["message"], "…with the same message")

expected_roles = {"admin", "leader", "reporter", "doctor", "pharmacist", "kiosk", "volunteer", "patient"}
check(roles_seen == expected_roles, f"every role signed in: missing {expected_roles - roles_seen}")
print(f"{len(staff)} staff and {len(patients)} patients signed in; {len(failures)} failures")
sys.exit(1 if failures else 0)
