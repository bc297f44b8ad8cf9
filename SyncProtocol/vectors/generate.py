#!/usr/bin/env python3
"""Regenerates the sync protocol conformance vectors (SyncProtocol/vectors/*.json).

    python3 SyncProtocol/vectors/generate.py           # rewrite the vector files
    python3 SyncProtocol/vectors/generate.py --check   # exit 1 if a file would change

Deterministic: the inputs are literals below, SM3 comes from hashlib (OpenSSL 3) or gmssl, and
SM2 signatures (randomised by nature) are reused from the existing checkpoint-signature.json
whenever they still verify for the same message; only a new message gets a new signature, made
with the openssl CLI and the committed TEST key pair in keys/ (never use it for anything else).

Every expected value is cross-checked before anything is written: canonical JSON, digests and
cursor tokens against node (JSON.stringify, crypto.createHash('sm3')) when node is on PATH, and
every signature against `openssl pkeyutl -verify` (and gmssl, when importable).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEYS = HERE / "keys"
PRIVATE_KEY = KEYS / "sm2-test-private.pem"
PUBLIC_KEY = KEYS / "sm2-test-public.pem"
DISTID = "1234567812345678"
MESSAGE_PREFIX = "HCSYNC1:"

# ---------------------------------------------------------------- primitives


def canonical(value) -> str:
    """Canonical JSON (SPEC.md §6): keys sorted by UTF-16 code units, no whitespace,
    strings escaped as ECMAScript JSON.stringify does, integers in decimal."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Only integral values are allowed (fractions travel as decimal strings); JCS writes
        # 1.0 as 1, 1e2 as 100 and -0 as 0.
        if value != value or value in (float("inf"), float("-inf")) or not value.is_integer() or abs(value) >= 2**53:
            raise ValueError(f"not an integer: {value!r}")
        return str(int(value))
    if isinstance(value, str):
        return canonical_string(value)
    if isinstance(value, list):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: key.encode("utf-16-be", "surrogatepass"))
        return "{" + ",".join(canonical_string(key) + ":" + canonical(value[key]) for key in keys) + "}"
    raise TypeError(f"not JSON: {type(value).__name__}")


ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def canonical_string(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in ESCAPES:
            out.append(ESCAPES[char])
        elif code < 0x20 or 0xD800 <= code <= 0xDFFF:  # controls; lone surrogates (well-formed JSON.stringify)
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def sm3_hex(data: bytes) -> str:
    try:
        return hashlib.new("sm3", data).hexdigest()
    except ValueError:  # hashlib without SM3: the pure-Python gmssl
        from gmssl import sm3, func

        return sm3.sm3_hash(func.bytes_to_list(data))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64url_decode(text: str):
    """Strict base64url without padding: None for any other character, a length of 4k+1, or
    non-zero unused bits in the last character (what the Swift Base64URL.decode refuses too)."""
    if any(char not in B64URL for char in text) or len(text) % 4 == 1:
        return None
    rest = len(text) % 4
    if rest and B64URL.index(text[-1]) & (0x0F if rest == 2 else 0x03):
        return None
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def with_trailing_bits(token: str) -> str:
    """The same token with a non-zero unused bit in its last character (it must have some)."""
    assert len(token) % 4 in (2, 3)
    return token[:-1] + B64URL[B64URL.index(token[-1]) | 1]


def cursor_token(cursor: dict) -> str:
    return b64url(canonical(cursor).encode("utf-8"))


def page_object(page: dict) -> dict:
    return {"changes": page["changes"], "cursor": page["cursor"], "lastMutationId": page["lastMutationId"], "reset": page["reset"]}


def page_digest(page: dict) -> str:
    return sm3_hex(canonical(page_object(page)).encode("utf-8"))


def body_digest(mutation: dict) -> str:
    return sm3_hex(canonical({"name": mutation["name"], "args": mutation["args"]}).encode("utf-8"))


def upsert(collection, id, version, data):
    return {"collection": collection, "id": id, "op": "upsert", "version": version, "data": data}


def delete(collection, id, version):
    return {"collection": collection, "id": id, "op": "delete", "version": version, "data": None}


def token(n, g="3f9a0c1d2b4e5f60", s=1):
    return cursor_token({"v": 1, "n": n, "g": g, "s": s})


# ---------------------------------------------------------------- canonical-json.json

WARNING_17 = {
    "scope": "district:310115", "scopeName": "浦东新区", "ruleId": "icu-bed-occupancy", "title": "ICU 床位使用率高",
    "pressure": "icu", "level": "red", "status": "open", "value": "93.1", "threshold": "90", "openedDate": "2024-06-01",
    "lastFiredDate": "2024-06-03", "acknowledgementNote": None,
}

CANONICAL_CASES = [
    ("null", None),
    ("true", True),
    ("false", False),
    ("zero", 0),
    ("integers", [0, -1, 1, 42, -42, 9007199254740991, -9007199254740991]),
    ("integral-numbers-written-as-fractions", [1.0, 100.0, -0.0, -5.0]),
    ("empty-object", {}),
    ("empty-array", []),
    ("empty-string", ""),
    ("empty-containers-nested", {"b": [], "a": {}, "c": [{}, []]}),
    ("deep-arrays", [[[[]]], [[1]], []]),
    ("keys-ascii-case-and-prefix", {"b": 1, "a": 2, "B": 3, "A": 4, "_": 5, "aa": 6, "": 7, "a b": 8, "a\u0000": 9, "Z": 10, "1": 11}),
    # UTF-16 code-unit order: U+1F600 is D83D DE00, which sorts BEFORE U+E000..U+FFFF
    # (code-point order would put it last).
    ("keys-utf16-order-non-ascii", {"\ufffd": 1, "\uff01": 2, "\ue000": 3, "😀": 4, "中": 5, "é": 6, "z": 7, "\u00ff": 8, "\u0100": 9}),
    ("keys-astral-vs-bmp-high", {"\U0001F600": "grinning", "\U00010000": "linear-b", "\uffee": "halfwidth", "\ud7ff": "hangul-end"}),
    # JS objects enumerate integer-like keys numerically: a serializer must not rely on
    # insertion order. Code-unit order puts "10" before "2".
    ("keys-integer-like", {"10": "ten", "9": "nine", "2": "two", "1": "one", "-1": "minus one", "01": "zero one", "310115": "浦东", "3101": "prefix"}),
    # "é" precomposed (U+00E9) and decomposed ("e" U+0301) are different keys: bytes, not
    # Unicode equivalence, decide ("e" 0x65 < 0xE9).
    ("keys-canonically-equivalent", {"\u00e9": "precomposed", "e\u0301": "decomposed"}),
    ("string-quotes-backslashes-slash", 'say "hi" \\ C:\\path\\ a/b </script>'),
    ("string-short-escapes", "\b\f\n\r\t"),
    ("string-other-controls", "\u0000\u0001\u0007\u000b\u000e\u001b\u001f"),
    ("string-del-not-escaped", "a\u007fb"),
    ("string-line-separators-not-escaped", "a\u2028b\u2029c"),
    ("string-chinese", "ICU 床位使用率高，已增开床位"),
    ("string-emoji-and-combining", "😀 e\u0301 \U0001F468\u200d\u2695\ufe0f"),
    ("string-decomposed-stays-decomposed", "Cafe\u0301"),
    ("string-bom-and-nonchars", "\ufeffx\ufffe\uffff"),
    ("nested-record", {"z": [{"b": 1, "a": [{"d": None, "c": True}]}], "a": {"y": "93.1", "x": "-0.5", "w": {"v": [False, None, "s"]}}}),
    ("warning-record", WARNING_17),
]

# ---------------------------------------------------------------- mutation-digest.json

MUTATION_CASES = [
    ("acknowledge-warning", {"id": 13, "name": "acknowledgeWarning", "args": {"warningId": 17, "note": "已增开床位"}}),
    # The id is not part of the body: the same body under another id has the same digest.
    ("acknowledge-warning-other-id", {"id": 99, "name": "acknowledgeWarning", "args": {"note": "已增开床位", "warningId": 17}}),
    ("acknowledge-warning-other-note", {"id": 13, "name": "acknowledgeWarning", "args": {"warningId": 17, "note": "已增开床位 "}}),
    ("mark-notification-read", {"id": 1, "name": "markNotificationRead", "args": {"notificationId": 42}}),
    ("empty-args", {"id": 2, "name": "markNotificationRead", "args": {}}),
    ("submit-report-nested", {"id": 14, "name": "submitReport", "args": {
        "campusId": 12, "date": "2024-06-01", "correctionReason": "更正：ICU 床位数\n录入错误",
        "report": {"beds": {"total": 120, "occupied": 96, "icu": {"total": 20, "occupied": 19}}, "feverClinic": {"visits": 311, "positiveRate": "0.042"},
                   "staff": [{"role": "doctor", "onDuty": 31}, {"role": "nurse", "onDuty": 77}], "notes": None, "final": True}}}),
    ("args-with-escapes", {"id": 15, "name": "acknowledgeWarning", "args": {"warningId": 9007199254740991, "note": "\"quoted\" \\ \t tab \u0001 😀"}}),
]

# ---------------------------------------------------------------- cursor.json

CURSOR_CASES = [
    ("first", {"v": 1, "n": 0, "g": "0000000000000000", "s": 1}),
    ("spec-example-two-pad-chars-dropped", {"v": 1, "n": 42, "g": "3f9a0c1d2b4e5f60", "s": 1}),
    ("one-pad-char-dropped", {"v": 1, "n": 420, "g": "3f9a0c1d2b4e5f60", "s": 1}),
    ("no-padding-needed", {"v": 1, "n": 1234, "g": "0123456789abcdef", "s": 1}),
    ("schema-2", {"v": 1, "n": 7, "g": "a1b2c3d4e5f60718", "s": 2}),
    ("max-safe-version", {"v": 1, "n": 9007199254740991, "g": "ffffffffffffffff", "s": 1}),
    ("with-epoch", {"v": 1, "n": 42, "g": "3f9a0c1d2b4e5f60", "s": 1, "e": "9b2f4c1d0a7e6f35"}),
    ("snapshot-page-with-mark", {"v": 1, "n": 17, "g": "3f9a0c1d2b4e5f60", "s": 1, "e": "9b2f4c1d0a7e6f35", "m": 42}),
    ("future-schema-with-epoch", {"v": 1, "n": 7, "g": "a1b2c3d4e5f60718", "s": 2, "e": "0123456789abcdef"}),
]

# Tokens a server reads, with members it does not know (ignored: SPEC.md §2), and what it reads.
UNKNOWN_MEMBER_CASES = [
    ("unknown-number-member", '{"e":"9b2f4c1d0a7e6f35","g":"3f9a0c1d2b4e5f60","n":42,"s":1,"v":1,"x":3}',
     {"v": 1, "n": 42, "g": "3f9a0c1d2b4e5f60", "s": 1, "e": "9b2f4c1d0a7e6f35"}),
    ("unknown-object-member", '{"g":"3f9a0c1d2b4e5f60","n":42,"s":1,"v":1,"z":{"a":[1,"b",null]}}',
     {"v": 1, "n": 42, "g": "3f9a0c1d2b4e5f60", "s": 1}),
]


def invalid_tokens():
    valid = cursor_token({"v": 1, "n": 42, "g": "3f9a0c1d2b4e5f60", "s": 1})
    # A token whose length is not a multiple of 4, so it would need "=" padding.
    padded = next(t for t in (cursor_token({"v": 1, "n": n, "g": "3f9a0c1d2b4e5f60", "s": 1}) for n in range(40, 60)) if len(t) % 4)
    raw = lambda text: b64url(text.encode("utf-8"))  # noqa: E731
    cases = [
        ("empty", "", "no bytes"),
        ("not-base64url-characters", "eyJ2IjoxLCJuIjo0Mn0!!", "'!' is outside the base64url alphabet"),
        ("standard-base64-alphabet", valid[:8] + "+" + valid[9:-1] + "/", "'+' and '/' are standard base64, not base64url"),
        ("padded", padded + "=" * (-len(padded) % 4), "base64url without padding: '=' is refused"),
        ("whitespace", valid[:10] + " " + valid[10:], "a space inside"),
        ("impossible-length", valid + "A" * ((1 - len(valid)) % 4), "a length of 4k+1 characters encodes no whole byte"),
        ("nonzero-trailing-bits", with_trailing_bits(padded), "the unused low bits of the last character must be zero"),
        ("wrong-version-2", raw('{"g":"3f9a0c1d2b4e5f60","n":42,"s":1,"v":2}'), "v must be 1"),
        ("wrong-version-0", raw('{"g":"3f9a0c1d2b4e5f60","n":42,"s":1,"v":0}'), "v must be 1"),
        ("version-as-string", raw('{"g":"3f9a0c1d2b4e5f60","n":42,"s":1,"v":"1"}'), "v must be the integer 1"),
        ("version-missing", raw('{"g":"3f9a0c1d2b4e5f60","n":42,"s":1}'), "v is required"),
        ("negative-n", raw('{"g":"3f9a0c1d2b4e5f60","n":-1,"s":1,"v":1}'), "n must be >= 0"),
        ("n-as-string", raw('{"g":"3f9a0c1d2b4e5f60","n":"42","s":1,"v":1}'), "n must be an integer"),
        ("n-fraction", raw('{"g":"3f9a0c1d2b4e5f60","n":4.5,"s":1,"v":1}'), "n must be an integer"),
        ("g-as-number", raw('{"g":3,"n":42,"s":1,"v":1}'), "g must be a string"),
        ("s-missing", raw('{"g":"3f9a0c1d2b4e5f60","n":42,"v":1}'), "s is required"),
        ("not-json", raw("not json"), "the bytes are not JSON"),
        ("json-array", raw('[1,42,"3f9a0c1d2b4e5f60",1]'), "not a JSON object"),
        ("json-string", raw('"eyJ2IjoxfQ"'), "not a JSON object"),
        ("json-null", raw("null"), "not a JSON object"),
        ("trailing-garbage", raw('{"g":"3f9a0c1d2b4e5f60","n":42,"s":1,"v":1}x'), "bytes after the JSON value"),
        ("invalid-utf8", b64url(b'{"g":"\xff\xfe","n":42,"s":1,"v":1}'), "not UTF-8"),
        ("e-as-number", raw('{"e":12,"g":"3f9a0c1d2b4e5f60","n":42,"s":1,"v":1}'), "e must be a string"),
        ("m-negative", raw('{"e":"9b2f4c1d0a7e6f35","g":"3f9a0c1d2b4e5f60","m":-1,"n":42,"s":1,"v":1}'), "m must be >= 0"),
        ("m-as-string", raw('{"e":"9b2f4c1d0a7e6f35","g":"3f9a0c1d2b4e5f60","m":"42","n":42,"s":1,"v":1}'), "m must be an integer"),
    ]
    return [{"name": name, "token": tok, "reason": reason} for name, tok, reason in cases]


# ---------------------------------------------------------------- pages

PAGE_SPEC_EXAMPLE = {
    "changes": [
        upsert("warnings", "17", 41, WARNING_17),
        delete("warnings", "9", 42),
    ],
    "cursor": token(42),
    "lastMutationId": 12,
    "reset": False,
}

COCKPIT_CITY = {
    "scope": "city", "scopeName": "上海市", "date": "2024-06-03",
    "kpis": {"bedOccupancy": "0.871", "icuOccupancy": "0.912", "feverVisits": 18342, "campuses": 213},
    "districts": {"310115": {"name": "浦东新区", "bedOccupancy": "0.903"}, "310104": {"name": "徐汇区", "bedOccupancy": "0.85"},
                  "31": {"name": "全市合计", "bedOccupancy": "0.871"}},
    "trend": [{"date": "2024-06-01", "feverVisits": 17210}, {"date": "2024-06-02", "feverVisits": 17988}, {"date": "2024-06-03", "feverVisits": 18342}],
    "warnings": {"red": 3, "amber": 11, "open": [17, 21, 34]},
}

PAGE_RESET = {
    "changes": [
        upsert("cockpitHome", "city", 3, COCKPIT_CITY),
        upsert("warnings", "17", 41, WARNING_17),
        upsert("warnings", "21", 44, {**WARNING_17, "ruleId": "fever-surge", "title": "发热门诊就诊量激增", "pressure": "fever", "level": "amber",
                                       "value": "1.37", "threshold": "1.3", "acknowledgementNote": "已增开\"发热\"诊室 2 间\n明日复核"}),
        upsert("qcFindings", "5001", 57, {"campusId": 12, "date": "2024-06-02", "version": 2, "rule": "beds.occupied<=beds.total", "severity": "error",
                                          "field": "beds.occupied", "message": "占用床位数 130 超过总床位数 120"}),
    ],
    "cursor": token(57),
    "lastMutationId": 0,
    "reset": True,
}

PAGE_PATIENT = {
    "changes": [
        upsert("notifications", "88", 901, {"kind": "appointment", "title": "预约提醒 😀", "body": "您预约的\t专家门诊\n明天 08:30，请携带身份证。\\ \u2028",
                                           "createdAt": "2024-06-03T09:15:00Z", "readAt": None}),
        upsert("syncConflicts", "c6a1f00d:13", 902, {"mutationId": 13, "name": "markNotificationRead", "code": "not_found", "message": "通知不存在"}),
        delete("notifications", "87", 903),
    ],
    "cursor": token(903, g="77aa00bb11cc22dd"),
    "lastMutationId": 13,
    "reset": False,
}

PAGE_EMPTY = {"changes": [], "cursor": token(42), "lastMutationId": 12, "reset": False}

PAGE_DIGEST_CASES = [
    ("empty-page", PAGE_EMPTY),
    ("empty-reset-page", {"changes": [], "cursor": token(0), "lastMutationId": 0, "reset": True}),
    ("spec-example-upsert-and-delete", PAGE_SPEC_EXAMPLE),
    ("reset-snapshot-nested-records", PAGE_RESET),
    ("patient-notifications-conflict-delete", PAGE_PATIENT),
    ("deletes-only", {"changes": [delete("qcFindings", "5001", 60), delete("warnings", "21", 61), delete("cockpitHome", "district:310115", 62)],
                      "cursor": token(62), "lastMutationId": 12, "reset": False}),
    ("large-versions", {"changes": [upsert("warnings", "9007199254740990", 9007199254740990, {"level": "red", "value": "100"}),
                                    delete("warnings", "1", 9007199254740991)],
                        "cursor": token(9007199254740991), "lastMutationId": 9007199254740991, "reset": False}),
]

# ---------------------------------------------------------------- client-apply.json

W = lambda **over: {**{"level": "red", "title": "ICU 床位使用率高", "value": "93.1", "status": "open"}, **over}  # noqa: E731


def mut(id, warning=17):
    return {"id": id, "name": "acknowledgeWarning", "args": {"warningId": warning, "note": f"处理 {id}"}}


def page(changes, n, reset=False, last=0, has_more=False, g="3f9a0c1d2b4e5f60"):
    return {"reset": reset, "changes": changes, "cursor": token(n, g=g), "lastMutationId": last, "hasMore": has_more}


CLIENT_APPLY_CASES = [
    {
        "name": "first-sync-reset-into-empty-store",
        "store": {}, "outbox": [],
        "pages": [page([upsert("warnings", "17", 41, W()), upsert("cockpitHome", "city", 3, {"scope": "city", "kpis": {"campuses": 213}})], 41, reset=True)],
        "expectedStore": {"warnings": {"17": W()}, "cockpitHome": {"city": {"scope": "city", "kpis": {"campuses": 213}}}},
    },
    {
        "name": "reset-clears-every-collection-first",
        "note": "records the reset snapshot does not carry (a lost scope) disappear, in every collection",
        "store": {"warnings": {"17": W(), "9": W(level="amber")}, "notifications": {"88": {"title": "旧通知"}}, "qcFindings": {"5001": {"rule": "r"}}},
        "outbox": [],
        "pages": [page([upsert("warnings", "17", 50, W(status="acknowledged"))], 50, reset=True)],
        "expectedStore": {"warnings": {"17": W(status="acknowledged")}},
    },
    {
        "name": "reset-snapshot-over-two-pages",
        "note": "the reset flag is on the first page only; the second page adds to it",
        "store": {"warnings": {"3": W()}}, "outbox": [],
        "pages": [page([upsert("warnings", "17", 41, W())], 41, reset=True, has_more=True),
                  page([upsert("warnings", "21", 44, W(level="amber"))], 44)],
        "expectedStore": {"warnings": {"17": W(), "21": W(level="amber")}},
    },
    {
        "name": "delta-upsert-and-delete",
        "note": "a delete of an id the client does not have is a no-op",
        "store": {"warnings": {"17": W(), "9": W(level="amber")}}, "outbox": [],
        "pages": [page([upsert("warnings", "30", 60, W(title="发热门诊")), delete("warnings", "9", 61), delete("warnings", "404", 62)], 62)],
        "expectedStore": {"warnings": {"17": W(), "30": W(title="发热门诊")}},
    },
    {
        "name": "later-version-replaces-whole-record",
        "note": "an upsert replaces the record (no field merge): acknowledgementNote vanishes",
        "store": {"warnings": {"17": W(acknowledgementNote="已增开床位")}}, "outbox": [],
        "pages": [page([upsert("warnings", "17", 45, W(value="95.0"))], 45), page([upsert("warnings", "17", 48, W(value="96.4", status="resolved"))], 48)],
        "expectedStore": {"warnings": {"17": W(value="96.4", status="resolved")}},
    },
    {
        "name": "replayed-page-is-idempotent",
        "note": "a client killed after committing may receive a page again",
        "store": {}, "outbox": [],
        "pages": [page([upsert("warnings", "17", 41, W()), delete("warnings", "9", 42)], 42)] * 2,
        "expectedStore": {"warnings": {"17": W()}},
    },
    {
        "name": "delete-last-record-drops-empty-collection",
        "note": "stores compare without empty collections: a collection with no records is not listed",
        "store": {"qcFindings": {"5001": {"rule": "r"}}, "warnings": {"17": W()}}, "outbox": [],
        "pages": [page([delete("qcFindings", "5001", 70)], 70)],
        "expectedStore": {"warnings": {"17": W()}},
    },
    {
        "name": "unknown-collection-is-kept",
        "note": "forward compatibility: an upsert of a collection this client does not know is stored like any other; deletes apply to it",
        "store": {}, "outbox": [],
        "pages": [page([upsert("vaccinationSlots", "2024-06-04:12", 80, {"campusId": 12, "free": 37}), upsert("vaccinationSlots", "2024-06-05:12", 81, {"campusId": 12, "free": 40}),
                        upsert("warnings", "17", 82, W())], 82),
                  page([delete("vaccinationSlots", "2024-06-05:12", 83)], 83)],
        "expectedStore": {"vaccinationSlots": {"2024-06-04:12": {"campusId": 12, "free": 37}}, "warnings": {"17": W()}},
    },
    {
        "name": "reset-clears-unknown-collections-too",
        "store": {"vaccinationSlots": {"2024-06-04:12": {"campusId": 12, "free": 37}}, "warnings": {"17": W()}}, "outbox": [],
        "pages": [page([upsert("warnings", "21", 90, W(level="amber"))], 90, reset=True, g="77aa00bb11cc22dd")],
        "expectedStore": {"warnings": {"21": W(level="amber")}},
    },
    {
        "name": "last-mutation-id-drops-outbox-prefix",
        "note": "entries with id <= lastMutationId leave the outbox; the rest keep their order; a repeated or lower lastMutationId changes nothing",
        "store": {}, "outbox": [mut(11), mut(12), mut(13), mut(14)],
        "pages": [page([upsert("warnings", "17", 41, W(status="acknowledged"))], 41, last=12), page([], 41, last=12), page([], 41, last=10)],
        "expectedStore": {"warnings": {"17": W(status="acknowledged")}},
        "expectedOutbox": [mut(13), mut(14)],
    },
    {
        "name": "last-mutation-id-empties-outbox",
        "store": {}, "outbox": [mut(11), mut(12)],
        "pages": [page([], 5, last=11), page([], 5, last=14)],
        "expectedStore": {},
        "expectedOutbox": [],
    },
    {
        "name": "reset-keeps-outbox",
        "note": "a reset clears records, never pending mutations (only lastMutationId removes them)",
        "store": {"warnings": {"17": W()}}, "outbox": [mut(5), mut(6)],
        "pages": [page([upsert("warnings", "17", 41, W(status="acknowledged"))], 41, reset=True, last=5)],
        "expectedStore": {"warnings": {"17": W(status="acknowledged")}},
        "expectedOutbox": [mut(6)],
    },
    {
        "name": "empty-page-advances-cursor",
        "store": {"warnings": {"17": W()}}, "outbox": [mut(3)],
        "pages": [page([], 99)],
        "expectedStore": {"warnings": {"17": W()}},
        "expectedOutbox": [mut(3)],
    },
    {
        "name": "reset-mid-stream-after-grants-change",
        "note": "a later reset (grants changed) discards what earlier pages brought",
        "store": {}, "outbox": [],
        "pages": [page([upsert("warnings", "17", 41, W())], 41), page([upsert("notifications", "88", 95, {"title": "预约提醒", "readAt": None})], 95, reset=True, g="77aa00bb11cc22dd")],
        "expectedStore": {"notifications": {"88": {"title": "预约提醒", "readAt": None}}},
    },
]


def apply_pages(case: dict) -> tuple[dict, str | None, list]:
    """The reference client: the rules the vectors encode (see the file's description)."""
    store = copy.deepcopy(case["store"])
    cursor = case.get("cursor")
    outbox = copy.deepcopy(case["outbox"])
    for pg in case["pages"]:
        if pg["reset"]:
            store = {}
        for change in pg["changes"]:
            records = store.setdefault(change["collection"], {})
            if change["op"] == "upsert":
                records[change["id"]] = copy.deepcopy(change["data"])
            elif change["op"] == "delete":
                records.pop(change["id"], None)
            else:
                raise ValueError(change["op"])
            if not records:
                del store[change["collection"]]
        cursor = pg["cursor"]
        outbox = [m for m in outbox if m["id"] > pg["lastMutationId"]]
    return store, cursor, outbox


# ---------------------------------------------------------------- signatures


def openssl(*args, input=None):
    return subprocess.run(["openssl", *args], input=input, capture_output=True, check=False)


def ensure_keys():
    if PRIVATE_KEY.exists() and PUBLIC_KEY.exists():
        return
    print("keys/ is missing the test key pair: generating a new one (commit it)", file=sys.stderr)
    KEYS.mkdir(exist_ok=True)
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", str(PRIVATE_KEY)], check=True)
    subprocess.run(["openssl", "pkey", "-in", str(PRIVATE_KEY), "-pubout", "-out", str(PUBLIC_KEY)], check=True)


def distid_opts(distid):
    return ["-pkeyopt", f"distid:{distid}"] if distid else []


def openssl_verify(message: bytes, signature: bytes, distid=DISTID) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "msg").write_bytes(message)
        (Path(tmp) / "sig").write_bytes(signature)
        result = openssl("pkeyutl", "-verify", "-pubin", "-inkey", str(PUBLIC_KEY), "-rawin", "-in", f"{tmp}/msg", "-sigfile", f"{tmp}/sig",
                         "-digest", "sm3", *distid_opts(distid))
        return result.returncode == 0 and b"Verified Successfully" in result.stdout


def openssl_sign(message: bytes, distid=DISTID) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "msg").write_bytes(message)
        result = openssl("pkeyutl", "-sign", "-inkey", str(PRIVATE_KEY), "-rawin", "-in", f"{tmp}/msg", "-digest", "sm3",
                         *distid_opts(distid), "-out", f"{tmp}/sig")
        if result.returncode != 0:
            raise RuntimeError(result.stderr.decode())
        return (Path(tmp) / "sig").read_bytes()


def der_to_raw(der: bytes) -> bytes:
    assert der[0] == 0x30
    index = 2 if der[1] < 0x80 else 3
    out = b""
    for _ in range(2):
        assert der[index] == 0x02
        length = der[index + 1]
        out += der[index + 2:index + 2 + length].lstrip(b"\x00").rjust(32, b"\x00")
        index += 2 + length
    return out


def gmssl_verify(message: bytes, signature: bytes):
    """Third oracle (None when gmssl is missing): gmssl's SM2 uses ID 1234567812345678."""
    try:
        from gmssl import sm2
    except ImportError:
        return None
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(PUBLIC_KEY), "-outform", "DER"], capture_output=True, check=True).stdout
    xy = der[-64:].hex()
    crypt = sm2.CryptSM2(private_key="", public_key=xy)
    try:
        return bool(crypt.verify_with_sm3(der_to_raw(signature).hex(), message))
    except Exception:  # noqa: BLE001 — a malformed signature is simply invalid
        return False


class SignatureCache:
    """Signatures of the previous checkpoint-signature.json, reused while they still verify."""

    def __init__(self, path: Path):
        self.candidates = []
        if path.exists():
            for case in json.loads(path.read_text("utf-8")).get("cases", []):
                signature = b64url_decode(case["signature"])
                if signature and signature not in self.candidates:
                    self.candidates.append(signature)

    def sign(self, message: bytes, distid=DISTID) -> bytes:
        for candidate in self.candidates:
            if openssl_verify(message, candidate, distid):
                return candidate
        signature = openssl_sign(message, distid)
        self.candidates.append(signature)
        return signature


def signed_message(digest: str) -> bytes:
    return (MESSAGE_PREFIX + digest).encode("utf-8")


def checkpoint_cases(cache: SignatureCache) -> list:
    cases = []

    def valid(name, pg, note=None):
        digest = page_digest(pg)
        signature = cache.sign(signed_message(digest))
        case = {"name": name, "page": pg, "digest": digest, "signature": b64url(signature), "valid": True}
        if note:
            case["note"] = note
        cases.append(case)
        return case

    base = valid("valid-spec-example", PAGE_SPEC_EXAMPLE)
    valid("valid-reset-snapshot", PAGE_RESET)
    valid("valid-patient-page", PAGE_PATIENT)
    valid("valid-empty-page", PAGE_EMPTY)

    def tampered(name, pg, note, digest=None, signature=None):
        cases.append({"name": name, "page": pg, "digest": base["digest"] if digest is None else digest,
                      "signature": base["signature"] if signature is None else signature, "valid": False, "note": note})

    changed_record = copy.deepcopy(PAGE_SPEC_EXAMPLE)
    changed_record["changes"][0]["data"]["value"] = "73.1"
    tampered("tampered-record", changed_record, "a record's value changed after signing: the recomputed digest differs from checkpoint.digest")
    tampered("tampered-record-digest-recomputed", changed_record, "the record changed and checkpoint.digest was recomputed to match: the signature no longer covers it",
             digest=page_digest(changed_record))
    changed_cursor = copy.deepcopy(PAGE_SPEC_EXAMPLE)
    changed_cursor["cursor"] = token(420)
    tampered("tampered-cursor", changed_cursor, "the cursor was changed (skipping versions)")
    changed_last = copy.deepcopy(PAGE_SPEC_EXAMPLE)
    changed_last["lastMutationId"] = 13
    tampered("tampered-last-mutation-id", changed_last, "lastMutationId was raised (would drop a pending mutation)")
    changed_reset = copy.deepcopy(PAGE_SPEC_EXAMPLE)
    changed_reset["reset"] = True
    tampered("tampered-reset-flag", changed_reset, "reset was set (would wipe the local store)")
    dropped = copy.deepcopy(PAGE_SPEC_EXAMPLE)
    dropped["changes"] = dropped["changes"][:1]
    tampered("tampered-change-dropped", dropped, "the delete was removed from the page")

    flipped = bytearray(b64url_decode(base["signature"]))
    flipped[-1] ^= 0x01
    tampered("flipped-signature-byte", PAGE_SPEC_EXAMPLE, "the last byte of the DER signature (inside s) has one bit flipped", signature=b64url(bytes(flipped)))
    empty_id = cache.sign(signed_message(base["digest"]), distid=None)
    tampered("signed-with-empty-distid", PAGE_SPEC_EXAMPLE,
             "signed with OpenSSL 3.0's default EMPTY SM2 ID instead of 1234567812345678: must not verify", signature=b64url(empty_id))
    tampered("signature-empty", PAGE_SPEC_EXAMPLE, "no signature bytes", signature="")
    signature_of_other = next(c for c in cases if c["name"] == "valid-empty-page")["signature"]
    tampered("signature-of-another-page", PAGE_SPEC_EXAMPLE, "a genuine signature, but of the empty page's digest", signature=signature_of_other)
    return cases


def check_signatures(cases: list):
    for case in cases:
        recomputed = page_digest(case["page"])
        signature = b64url_decode(case["signature"]) or b""
        ok = recomputed == case["digest"] and bool(signature) and openssl_verify(signed_message(case["digest"]), signature)
        if ok != case["valid"]:
            raise AssertionError(f"openssl disagrees on {case['name']}: {ok} != {case['valid']}")
        if case["valid"]:
            via_gmssl = gmssl_verify(signed_message(case["digest"]), signature)
            if via_gmssl is False:
                raise AssertionError(f"gmssl rejects {case['name']}")


# ---------------------------------------------------------------- node cross-check

NODE_CHECK = r"""
const { createHash } = require('node:crypto');
const input = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
const canon = (v) => {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(canon).join(',') + ']';
  return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}';
};
const sm3 = (s) => createHash('sm3').update(Buffer.from(s, 'utf8')).digest('hex');
const b64url = (s) => Buffer.from(s, 'utf8').toString('base64url');
process.stdout.write(JSON.stringify({
  canonical: input.canonical.map(canon),
  bodies: input.mutations.map((m) => sm3(canon({ name: m.name, args: m.args }))),
  tokens: input.cursors.map((c) => b64url(canon(c))),
  pages: input.pages.map((p) => sm3(canon({ changes: p.changes, cursor: p.cursor, lastMutationId: p.lastMutationId, reset: p.reset }))),
}));
"""


def node_cross_check(files: dict):
    node = shutil.which("node")
    if not node:
        print("warning: node not on PATH: skipping the node cross-check", file=sys.stderr)
        return
    pages = [c["page"] for c in files["page-digest.json"]["cases"]] + [c["page"] for c in files["checkpoint-signature.json"]["cases"]]
    payload = {
        "canonical": [c["value"] for c in files["canonical-json.json"]["cases"]],
        "mutations": [c["mutation"] for c in files["mutation-digest.json"]["cases"]],
        "cursors": [c["cursor"] for c in files["cursor.json"]["cases"]],
        "pages": pages,
    }
    result = subprocess.run([node, "-e", NODE_CHECK], input=json.dumps(payload, ensure_ascii=False).encode("utf-8"), capture_output=True, check=True)
    got = json.loads(result.stdout)
    assert got["canonical"] == [c["canonical"] for c in files["canonical-json.json"]["cases"]], "node canonical JSON differs"
    assert got["bodies"] == [c["bodyDigest"] for c in files["mutation-digest.json"]["cases"]], "node body digests differ"
    assert got["tokens"] == [c["token"] for c in files["cursor.json"]["cases"]], "node cursor tokens differ"
    expected_pages = [c["digest"] for c in files["page-digest.json"]["cases"]] + [page_digest(c["page"]) for c in files["checkpoint-signature.json"]["cases"]]
    assert got["pages"] == expected_pages, "node page digests differ"


# ---------------------------------------------------------------- files


def build() -> dict:
    ensure_keys()
    files = {}
    files["canonical-json.json"] = {
        "description": "Canonical JSON (SPEC.md §6): `canonical` is the exact text of `value` — object keys sorted by UTF-16 code units "
                       "(not code points: U+1F600 is D83D DE00 and sorts before U+E000..U+FFFF; not Unicode equivalence: U+00E9 and "
                       "\"e\\u0301\" are different keys; not JS insertion order: \"10\" sorts before \"2\"), no whitespace, strings escaped "
                       "as ECMAScript JSON.stringify does (\\b \\f \\n \\r \\t, other controls as \\u00xx lower-case hex, DEL/U+2028/U+2029 "
                       "and non-ASCII raw, '/' raw), integers in decimal (integral numbers written 1.0/-0.0 come out as 1/0). "
                       "Compare `canonical` byte for byte (UTF-8), not with a Unicode-equivalence string comparison.",
        "cases": [{"name": name, "value": value, "canonical": canonical(value)} for name, value in CANONICAL_CASES],
    }
    files["mutation-digest.json"] = {
        "description": "Mutation body digest (SPEC.md §4, same id with a different body → 409 mutation_id_reused): bodyDigest = lower-case "
                       "hex SM3 of the UTF-8 canonical JSON of {\"args\": args, \"name\": name} (`canonical`). The id is not part of the body.",
        "cases": [{"name": name, "mutation": m, "canonical": canonical({"name": m["name"], "args": m["args"]}), "bodyDigest": body_digest(m)}
                  for name, m in MUTATION_CASES],
    }
    files["cursor.json"] = {
        "description": "Cursor tokens (SPEC.md §2): token = base64url without padding of the UTF-8 canonical JSON of {\"e\"?,\"g\",\"m\"?,\"n\",\"s\",\"v\"} "
                       "(e: history epoch, absent in cursors issued before epochs; m: a reset snapshot's starting mark, only while its pages "
                       "are delivered). Clients treat tokens as opaque; a server reads each `token` back as `cursor` (a cursor without e, "
                       "of another epoch or schema is then answered with a reset, §3.2). Each `unknownMembers` token has members the server "
                       "does not know: it reads `cursor`, ignoring them. Every `invalidTokens` entry is "
                       "unreadable (the server answers it with a reset, §3.2): strict base64url (alphabet A-Z a-z 0-9 - _, no '=', no "
                       "whitespace, zero unused trailing bits), UTF-8 JSON object, v == 1, n an integer >= 0, g a string, s an integer, "
                       "e a string and m an integer >= 0 when present.",
        "cases": [{"name": name, "cursor": c, "token": cursor_token(c)} for name, c in CURSOR_CASES],
        "unknownMembers": [{"name": name, "token": b64url(text.encode("utf-8")), "cursor": c} for name, text, c in UNKNOWN_MEMBER_CASES],
        "invalidTokens": invalid_tokens(),
    }
    files["page-digest.json"] = {
        "description": "Page digest (SPEC.md §6): digest = lower-case hex SM3 of the UTF-8 canonical JSON of {\"changes\", \"cursor\", "
                       "\"lastMutationId\", \"reset\"} of a pull response (`canonical`). Deletes carry \"data\": null; fractional numbers "
                       "travel as decimal strings.",
        "cases": [{"name": name, "page": pg, "canonical": canonical(page_object(pg)), "digest": page_digest(pg)} for name, pg in PAGE_DIGEST_CASES],
    }
    cache = SignatureCache(HERE / "checkpoint-signature.json")
    cases = checkpoint_cases(cache)
    check_signatures(cases)
    files["checkpoint-signature.json"] = {
        "description": "Checkpoint verification (SPEC.md §6) with a TEST key pair (keys/sm2-test-*.pem, never a real key). A page is valid "
                       "when the digest recomputed from `page` equals `digest` (checkpoint.digest as received) AND `signature` (base64url "
                       "of a DER SM2 signature, SM3, distinguishing ID 1234567812345678) verifies over the UTF-8 bytes of "
                       "\"HCSYNC1:\" + digest with publicKeyPem. Valid signatures were made with `openssl pkeyutl -sign -rawin -digest sm3 "
                       "-pkeyopt distid:1234567812345678` and checked with `openssl pkeyutl -verify`.",
        "publicKeyPem": PUBLIC_KEY.read_text("ascii"),
        "distinguishingId": DISTID,
        "messagePrefix": MESSAGE_PREFIX,
        "cases": cases,
    }
    apply_cases = []
    for case in CLIENT_APPLY_CASES:
        store, cursor, outbox = apply_pages(case)
        assert store == case["expectedStore"], f"{case['name']}: reference client gives {store}"
        if "expectedOutbox" in case:
            assert outbox == case["expectedOutbox"], f"{case['name']}: reference client gives outbox {outbox}"
        entry = {"name": case["name"]}
        if "note" in case:
            entry["note"] = case["note"]
        entry.update({"store": case["store"], "cursor": case.get("cursor"), "outbox": case["outbox"], "pages": case["pages"],
                      "expectedStore": store, "expectedCursor": cursor})
        if "expectedOutbox" in case:
            entry["expectedOutbox"] = outbox
        apply_cases.append(entry)
    files["client-apply.json"] = {
        "description": "Client page application (SPEC.md §3). Start from `store` ({collection: {id: data}}), `cursor` and `outbox`; apply "
                       "`pages` in order (pull responses; checkpoints omitted, assume verified), each as one transaction: (1) if reset, "
                       "delete every local record of every collection; (2) apply changes in order: upsert stores `data` as the whole "
                       "record under (collection, id), replacing any previous one (no field merge); delete removes it (a no-op when "
                       "absent); (3) store `cursor` as received; (4) drop outbox entries with id <= lastMutationId, keeping the order of "
                       "the rest. Decisions: an upsert of a collection the client does not know is KEPT like any other (forward "
                       "compatibility; deletes and resets apply to it); a reset never touches the outbox; hasMore only tells the client "
                       "to pull again. Compare `expectedStore` with empty collections omitted; `expectedOutbox`, when present, exactly.",
        "cases": apply_cases,
    }
    node_cross_check(files)
    return files


def render(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def main() -> int:
    check = "--check" in sys.argv[1:]
    os.chdir(HERE)
    files = build()
    stale = []
    for name, document in files.items():
        text = render(document)
        path = HERE / name
        if path.exists() and path.read_text("utf-8") == text:
            continue
        stale.append(name)
        if not check:
            path.write_text(text, "utf-8")
    counts = ", ".join(f"{name}: {len(doc['cases'])}" + (f"+{len(doc['invalidTokens'])} invalid" if "invalidTokens" in doc else "") for name, doc in files.items())
    if check:
        print(("stale: " + ", ".join(stale)) if stale else f"vectors up to date ({counts})")
        return 1 if stale else 0
    print(f"wrote {', '.join(stale) or 'nothing (unchanged)'} ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
