#!/usr/bin/env python3
"""Reference offline verifier for HCP1 visit passes, as a check-in kiosk runs it (docs/kiosk-offline.md).

A kiosk caches the published key set (GET /api/v1/keys) while online and then checks each
scanned pass with nothing but that cache and its clock:

    keys = load_keys(json.load(open("keys.json")))
    claims = verify(token, keys, site=5, now=int(time.time()))   # or raises PassError

PassError.code is the code the server answers POST /api/v1/checkins with for the same pass
(docs/patient-journey.md): pass_malformed, pass_invalid_signature, pass_not_yet_valid,
pass_expired, pass_wrong_site; OfflineKiosk adds pass_already_used for a second scan of the
same pass (by `jti`) at this kiosk, and queues accepted scans for POST /api/v1/checkins:batch.

SM2 verification is gmssl's (pure Python). gmssl's verify_with_sm3 always uses the default
distinguishing ID 1234567812345678 (GB/T 32918 / GM/T 0009), which is the one HCP1 signs with;
it takes the raw 64-byte r||s, so the token's DER signature is converted first. The public key
comes from the PEM SubjectPublicKeyInfo, parsed here with a minimal DER reader.

CLI:
    kiosk_offline.py verify --keys keys.json --site 5 [--now UNIX] [--leeway S] TOKEN
        prints the claims as JSON (exit 0), or {"error": {"code", "message"}} (exit 1)
    kiosk_offline.py fetch-keys URL [-o keys.json]
        GET URL/api/v1/keys, check that every key parses, write the set
"""
from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import sys
import time
from dataclasses import dataclass, field

from gmssl import sm2

PREFIX = "HCP1"
ALG = "SM2-SM3"
PASS_TYPE = "visit"
# gmssl hard-codes this ID in CryptSM2._sm3_z; named here for the reader and the docs.
DISTINGUISHING_ID = b"1234567812345678"
MAX_TOKEN_LENGTH = 2048  # as the server: no visit pass is longer
MAX_BATCH = 200  # POST /api/v1/checkins:batch takes at most 200 items

_CURVE = sm2.default_ecc_table
_P = int(_CURVE["p"], 16)
_A = int(_CURVE["a"], 16)
_B = int(_CURVE["b"], 16)
_N = int(_CURVE["n"], 16)

# DER of the SubjectPublicKeyInfo algorithm: id-ecPublicKey (1.2.840.10045.2.1) with the
# SM2 curve (1.2.156.10197.1.301), as OpenSSL 3 writes `BEGIN PUBLIC KEY` for an SM2 key.
_OID_EC_PUBLIC_KEY = bytes.fromhex("2a8648ce3d0201")
_OID_SM2_CURVE = bytes.fromhex("2a811ccf5501822d")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class PassError(Exception):
    """A pass refused, with the server's error code (and HTTP status) for the same refusal."""

    STATUS = {"pass_malformed": 422, "pass_invalid_signature": 422, "pass_not_yet_valid": 422,
              "pass_expired": 422, "pass_wrong_site": 422, "pass_cancelled": 409, "pass_already_used": 409}

    def __init__(self, code: str, message: str, *, unknown_key: bool = False):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = self.STATUS.get(code, 422)
        # True when no cached key has the token's kid: the kiosk may simply be behind a key
        # rotation (refresh the keys when online) rather than looking at a forgery.
        self.unknown_key = unknown_key


# ---------------------------------------------------------------- encodings

def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding, as the server's Base64URL.decode: only the URL-safe
    alphabet (no '=', no whitespace), a possible length, and zero unused trailing bits."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url without padding")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:  # non-zero unused bits: a second spelling of the same bytes
        raise ValueError("non-canonical base64url (unused bits set)")
    return data


def _der_read(data: bytes, offset: int, tag: int) -> tuple[bytes, int]:
    """One DER TLV with the expected tag at offset → (value, offset after it). Definite lengths only."""
    if offset + 2 > len(data) or data[offset] != tag:
        raise ValueError(f"expected DER tag 0x{tag:02x} at {offset}")
    length = data[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 2 or offset + count > len(data):
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[offset:offset + count], "big")
        if length < 0x80 or (count == 2 and length < 0x100):
            raise ValueError("non-minimal DER length")
        offset += count
    if offset + length > len(data):
        raise ValueError("truncated DER")
    return data[offset:offset + length], offset + length


def pem_to_der(pem: str, label: str = "PUBLIC KEY") -> bytes:
    match = re.search(rf"-----BEGIN {label}-----(.*?)-----END {label}-----", pem, re.S)
    if not match:
        raise ValueError(f"no '{label}' PEM block")
    try:
        return base64.b64decode("".join(match.group(1).split()), validate=True)
    except binascii.Error as error:
        raise ValueError(f"bad base64 in PEM: {error}") from None


def spki_point(der: bytes) -> bytes:
    """The 64-byte X||Y of an SM2 SubjectPublicKeyInfo (DER), checked to lie on the curve."""
    spki, end = _der_read(der, 0, 0x30)
    if end != len(der):
        raise ValueError("trailing bytes after SubjectPublicKeyInfo")
    algorithm, offset = _der_read(spki, 0, 0x30)
    oid, after = _der_read(algorithm, 0, 0x06)
    if oid != _OID_EC_PUBLIC_KEY:
        raise ValueError("not an EC public key")
    curve, after = _der_read(algorithm, after, 0x06)
    if curve != _OID_SM2_CURVE or after != len(algorithm):
        raise ValueError("not a key on the SM2 curve")
    bits, offset = _der_read(spki, offset, 0x03)
    if offset != len(spki):
        raise ValueError("trailing bytes in SubjectPublicKeyInfo")
    # BIT STRING: one byte of unused bits (0), then the uncompressed point 04 || X || Y.
    if len(bits) != 66 or bits[0] != 0 or bits[1] != 0x04:
        raise ValueError("expected an uncompressed 65-byte EC point")
    point = bits[2:]
    x, y = int.from_bytes(point[:32], "big"), int.from_bytes(point[32:], "big")
    if not (x < _P and y < _P and (y * y - (x * x * x + _A * x + _B)) % _P == 0):
        raise ValueError("the point is not on the SM2 curve")
    return point


def der_signature_to_rs(der: bytes) -> tuple[int, int]:
    """Strict DER SEQUENCE { INTEGER r, INTEGER s } → (r, s), each in 1..n-1."""
    body, end = _der_read(der, 0, 0x30)
    if end != len(der):
        raise ValueError("trailing bytes after the signature")
    values, offset = [], 0
    for _ in range(2):
        raw, offset = _der_read(body, offset, 0x02)
        if not raw or raw[0] & 0x80 or (len(raw) > 1 and raw[0] == 0 and not raw[1] & 0x80):
            raise ValueError("not a minimal positive DER INTEGER")
        values.append(int.from_bytes(raw, "big"))
    if offset != len(body):
        raise ValueError("trailing bytes in the signature")
    r, s = values
    if not (0 < r < _N and 0 < s < _N):
        raise ValueError("r or s out of range")
    return r, s


def sm2_verify(public_xy: bytes, message: bytes, der_signature: bytes) -> bool:
    """SM2 with SM3 and ID 1234567812345678 over message, by gmssl."""
    try:
        r, s = der_signature_to_rs(der_signature)
    except ValueError:
        return False
    xy = public_xy.hex()
    crypt = sm2.CryptSM2(public_key=xy, private_key="")
    crypt.public_key = xy  # the constructor strips leading '0'/'4' characters: set it again
    try:
        return bool(crypt.verify_with_sm3("%064x%064x" % (r, s), message))
    except Exception:  # noqa: BLE001 - gmssl fails on degenerate points (at infinity): not a valid signature
        return False


# ---------------------------------------------------------------- keys

@dataclass(frozen=True)
class PublicKey:
    kid: str
    point: bytes  # X||Y, 64 bytes
    current: bool = False


def load_keys(key_set: dict) -> dict[str, PublicKey]:
    """The body of GET /api/v1/keys → {kid: PublicKey}. Keys of another `alg` are left out (a
    token they signed then fails as pass_invalid_signature); a malformed SM2-SM3 key raises
    ValueError, so a kiosk keeps its previous cache rather than half a set."""
    if not isinstance(key_set, dict) or not isinstance(key_set.get("keys"), list):
        raise ValueError("a key set is {\"keys\": [...]}")
    keys = {}
    for entry in key_set["keys"]:
        if not isinstance(entry, dict) or entry.get("alg") != ALG:
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            raise ValueError("a key without kid")
        try:
            point = spki_point(pem_to_der(entry.get("publicKeyPem") or ""))
        except ValueError as error:
            raise ValueError(f"key {kid}: {error}") from None
        keys[kid] = PublicKey(kid, point, entry.get("current") is True)
    return keys


def load_keys_file(path: str) -> dict[str, PublicKey]:
    with open(path, encoding="utf-8") as handle:
        return load_keys(json.load(handle))


# ---------------------------------------------------------------- verification

def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def verify(token: str, keys: dict[str, PublicKey], site: int, now: int | None = None, leeway: int = 0) -> dict:
    """Verifies a visit pass for a kiosk of `site` at unix time `now` → its claims.

    Raises PassError, in the server's order: pass_malformed (shape, encoding, kid/typ/iat/exp),
    pass_invalid_signature (unknown kid or bad signature), pass_malformed (a verified token of
    another type), pass_not_yet_valid (now < nbf), pass_expired (now >= exp), pass_malformed
    (no integer apt, site and nbf, or no jti), pass_wrong_site.
    No claim is trusted before the signature verifies. `leeway` widens nbf/exp by that many
    seconds; the server judges with none, so keep it 0 unless the kiosk's clock is known bad.
    """
    now = int(time.time()) if now is None else int(now)
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise PassError("pass_malformed", "not a pass")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise PassError("pass_malformed", "expected HCP1.<payload>.<signature>")
    try:
        payload = b64url_decode(parts[1])
        signature = b64url_decode(parts[2])
    except ValueError:
        raise PassError("pass_malformed", "payload or signature is not base64url") from None
    try:
        claims = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise PassError("pass_malformed", "payload is not JSON") from None
    if not isinstance(claims, dict):
        raise PassError("pass_malformed", "payload is not a JSON object")
    kid, typ = claims.get("kid"), claims.get("typ")
    if not (isinstance(kid, str) and isinstance(typ, str) and _is_int(claims.get("iat")) and _is_int(claims.get("exp"))):
        raise PassError("pass_malformed", "kid, typ, iat and exp are required")

    key = keys.get(kid)
    if key is None:
        raise PassError("pass_invalid_signature", f"signed by an unknown key {kid}", unknown_key=True)
    if not sm2_verify(key.point, f"{PREFIX}.{parts[1]}".encode("ascii"), signature):
        raise PassError("pass_invalid_signature", "the signature does not verify")

    # Signed by a published key from here on.
    if typ != PASS_TYPE:
        raise PassError("pass_malformed", f"a {typ} token, not a visit pass")
    nbf = claims.get("nbf")
    if _is_int(nbf) and now + leeway < nbf:
        raise PassError("pass_not_yet_valid", f"not valid before {nbf}")
    if now - leeway >= claims["exp"]:
        raise PassError("pass_expired", f"expired at {claims['exp']}")
    if not (_is_int(nbf) and _is_int(claims.get("site")) and _is_int(claims.get("apt"))
            and isinstance(claims.get("jti"), str) and claims["jti"]):
        raise PassError("pass_malformed", "a visit pass has integer apt, site and nbf, and a jti")
    if claims["site"] != site:
        raise PassError("pass_wrong_site", f"a pass for site {claims['site']}, this kiosk is at site {site}")
    return claims


# ---------------------------------------------------------------- the kiosk's local state

@dataclass
class OfflineKiosk:
    """A kiosk's offline state: the cached keys, the passes it accepted (by jti, until they
    expire) and the queue of scans to upload. Persist `to_json()` after every scan."""

    site: int
    keys: dict[str, PublicKey]
    used: dict[str, int] = field(default_factory=dict)  # jti → exp
    queue: list[dict] = field(default_factory=list)  # [{"token", "scannedAt"}], in scan order

    def scan(self, token: str, now: int | None = None) -> dict:
        """Verifies a scanned pass offline and queues it → claims; raises PassError
        (pass_already_used for a pass this kiosk already accepted)."""
        now = int(time.time()) if now is None else int(now)
        claims = verify(token, self.keys, self.site, now)
        if claims["jti"] in self.used:
            raise PassError("pass_already_used", "this pass was already scanned at this kiosk")
        self.used[claims["jti"]] = claims["exp"]
        self.queue.append({"token": token, "scannedAt": now})
        return claims

    def prune(self, now: int | None = None) -> None:
        """Forgets used passes past their exp: verify refuses them as pass_expired anyway."""
        now = int(time.time()) if now is None else int(now)
        self.used = {jti: exp for jti, exp in self.used.items() if exp > now}

    def batches(self) -> list[dict]:
        """The queue as POST /api/v1/checkins:batch bodies of at most 200 items, oldest first."""
        return [{"checkins": self.queue[i:i + MAX_BATCH]} for i in range(0, len(self.queue), MAX_BATCH)]

    def reconcile(self, batch: dict, answer: dict) -> list[dict]:
        """Drops a batch's items from the queue once the server answered them (checked_in or
        rejected; a resent scan comes back with its recorded answer and "duplicate": true) →
        the rejected items, [{"token", "scannedAt", "code"}], for staff."""
        items = batch["checkins"]
        results = answer.get("results")
        if not isinstance(results, list):
            raise ValueError("the batch answer lists no results")
        follow_up = []
        for result in results:
            item = items[result["index"]]
            if result["status"] == "rejected":
                follow_up.append({**item, "code": result.get("code")})
        answered = {(items[r["index"]]["token"], items[r["index"]]["scannedAt"]) for r in results}
        self.queue = [item for item in self.queue if (item["token"], item["scannedAt"]) not in answered]
        return follow_up

    def to_json(self) -> dict:
        return {"site": self.site, "used": self.used, "queue": self.queue}


# ---------------------------------------------------------------- CLI

def _cli_verify(args) -> int:
    try:
        keys = load_keys_file(args.keys)
    except (OSError, ValueError) as error:
        print(f"error: cannot load {args.keys}: {error}", file=sys.stderr)
        return 2
    try:
        claims = verify(args.token.strip(), keys, args.site, args.now, args.leeway)
    except PassError as error:
        print(json.dumps({"error": {"code": error.code, "message": error.message}}, ensure_ascii=False))
        return 1
    print(json.dumps(claims, ensure_ascii=False, sort_keys=True))
    return 0


def _cli_fetch_keys(args) -> int:
    import requests  # only the online command needs it

    response = requests.get(args.url.rstrip("/") + "/api/v1/keys", timeout=10)
    response.raise_for_status()
    key_set = response.json()
    keys = load_keys(key_set)  # refuse to cache a set that does not parse
    text = json.dumps(key_set, ensure_ascii=False, indent=1) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    print(f"{len(keys)} key(s): {', '.join(k + (' (current)' if v.current else '') for k, v in keys.items())}",
          file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="verify one visit pass offline")
    check.add_argument("--keys", required=True, help="a cached GET /api/v1/keys body")
    check.add_argument("--site", required=True, type=int, help="the kiosk's site id (its scope site:ID)")
    check.add_argument("--now", type=int, default=None, help="unix time to judge at (default: the clock)")
    check.add_argument("--leeway", type=int, default=0, help="seconds of clock allowance on nbf/exp (default 0)")
    check.add_argument("token")
    check.set_defaults(run=_cli_verify)
    fetch = commands.add_parser("fetch-keys", help="download and check the key set (online)")
    fetch.add_argument("url", help="the server, e.g. http://127.0.0.1:8080")
    fetch.add_argument("-o", "--output", default="keys.json")
    fetch.set_defaults(run=_cli_fetch_keys)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
