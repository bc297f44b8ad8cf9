"""Unit tests of the parts of the patient-pass check that need no server: tools/kiosk_offline.py
(base64url, SPKI parsing, SM2 verification, the pass rules, the kiosk's used list and queue)
and patient_pass.py's SVG rasterizer and FHIR comparison. Tokens are signed here with gmssl
and, where the openssl CLI exists, with OpenSSL 3 (distid 1234567812345678) as an independent
signer. Run by patient-pass.sh before the live check; also `python patient_pass_selftest.py`.
"""
import base64
import contextlib
import glob
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import kiosk_offline as ko  # noqa: E402
import patient_pass as pp  # noqa: E402
from gmssl import sm2  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
N = int(sm2.default_ecc_table["n"], 16)
SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d03420004")
OPENSSL = shutil.which("openssl")


def read(path, mode="r"):
    with open(path, mode) as handle:
        return handle.read()


def der_int(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big")  # a leading 0 when the top bit is set
    raw = raw.lstrip(b"\0") or b"\0"
    if raw[0] & 0x80:
        raw = b"\0" + raw
    return b"\x02" + bytes([len(raw)]) + raw


class GmsslKey:
    """A fresh SM2 key pair that signs with gmssl (SM3, ID 1234567812345678)."""

    def __init__(self):
        self.d = secrets.randbelow(N - 2) + 1
        self.crypt = sm2.CryptSM2(public_key="", private_key="%064x" % self.d)
        self.xy = self.crypt._kg(self.d, sm2.default_ecc_table["g"])
        self.crypt.public_key = self.xy
        self.point = bytes.fromhex(self.xy)

    def pem(self) -> str:
        body = base64.encodebytes(SPKI_PREFIX + self.point).decode().replace("\n", "")
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"

    def sign_der(self, message: bytes) -> bytes:
        raw = None
        while raw is None:
            raw = self.crypt.sign_with_sm3(message, "%064x" % (secrets.randbelow(N - 1) + 1))
        r, s = int(raw[:64], 16), int(raw[64:], 16)
        body = der_int(r) + der_int(s)
        return b"\x30" + bytes([len(body)]) + body

    def token(self, claims: dict, kid: str = "k1") -> str:
        payload = ko.b64url_encode(json.dumps(dict(claims, kid=kid), separators=(",", ":"), sort_keys=True).encode())
        signing_input = f"HCP1.{payload}"
        return signing_input + "." + ko.b64url_encode(self.sign_der(signing_input.encode()))


NOW = 1_800_000_000


def visit_claims(**overrides):
    claims = {"typ": "visit", "iat": NOW - 600, "nbf": NOW - 300, "exp": NOW + 3600, "jti": "p-1", "apt": 41, "site": 5}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


class Base64URLTests(unittest.TestCase):
    def test_round_trip(self):
        for n in range(0, 40):
            data = secrets.token_bytes(n)
            self.assertEqual(ko.b64url_decode(ko.b64url_encode(data)), data)
            self.assertNotIn("=", ko.b64url_encode(data))

    def test_strict(self):
        self.assertEqual(ko.b64url_decode("QQ"), b"A")
        for bad in ("QQ==", "QR", "Q", "a+b/", "ab cd", "ab\n", "é"):
            with self.assertRaises(ValueError, msg=bad):
                ko.b64url_decode(bad)


class KeyParsingTests(unittest.TestCase):
    def test_spki_of_a_known_point(self):
        key = GmsslKey()
        self.assertEqual(ko.spki_point(ko.pem_to_der(key.pem())), key.point)
        keys = ko.load_keys({"keys": [{"kid": "k1", "alg": "SM2-SM3", "current": True, "publicKeyPem": key.pem()},
                                      {"kid": "rsa", "alg": "RS256", "publicKeyPem": "whatever"}]})
        self.assertEqual(list(keys), ["k1"])
        self.assertTrue(keys["k1"].current)

    def test_refuses_bad_keys(self):
        key = GmsslKey()
        off_curve = SPKI_PREFIX + key.point[:-1] + bytes([key.point[-1] ^ 1])
        p256 = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d03010703420004") + key.point
        for der in (off_curve, p256, SPKI_PREFIX[:-1] + b"\x02" + key.point, SPKI_PREFIX + key.point + b"\0"):
            with self.assertRaises(ValueError):
                ko.spki_point(der)
        with self.assertRaises(ValueError):
            ko.load_keys({"keys": [{"kid": "k1", "alg": "SM2-SM3", "publicKeyPem": "-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----"}]})

    def test_server_key_store_pem(self):
        pems = glob.glob(os.path.join(REPO, "data", "keys", "signing", "*.pub.pem"))
        if not pems:
            self.skipTest("no data/keys/signing/*.pub.pem")
        for path in pems:
            self.assertEqual(len(ko.spki_point(ko.pem_to_der(read(path)))), 64, path)

    def test_der_signature(self):
        self.assertEqual(ko.der_signature_to_rs(bytes.fromhex("3006020101020102")), (1, 2))
        for bad in ("3006020100020102", "300702020001020102", "30060201ff020102", "3006020101020102" + "00", "3007020101020102"):
            with self.assertRaises(ValueError, msg=bad):
                ko.der_signature_to_rs(bytes.fromhex(bad))


class VerifyTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.key = GmsslKey()
        cls.keys = {"k1": ko.PublicKey("k1", cls.key.point, True)}

    def code(self, token, site=5, now=NOW, keys=None):
        try:
            ko.verify(token, keys or self.keys, site, now)
        except ko.PassError as error:
            return error.code
        return "ok"

    def test_valid_pass(self):
        token = self.key.token(visit_claims())
        claims = ko.verify(token, self.keys, 5, NOW)
        self.assertEqual((claims["apt"], claims["site"], claims["typ"], claims["kid"]), (41, 5, "visit", "k1"))

    def test_key_whose_x_starts_with_04(self):
        # gmssl's constructor strips every leading '0'/'4' of a key starting "04"; verify resets it.
        key = GmsslKey()
        while key.point[0] != 0x04:
            key = GmsslKey()
        keys = {"k1": ko.PublicKey("k1", key.point)}
        self.assertEqual(ko.verify(key.token(visit_claims()), keys, 5, NOW)["apt"], 41)

    def test_window_edges(self):
        token = self.key.token(visit_claims())
        self.assertEqual(self.code(token, now=NOW - 301), "pass_not_yet_valid")
        self.assertEqual(self.code(token, now=NOW - 300), "ok")  # nbf ≤ now
        self.assertEqual(self.code(token, now=NOW + 3599), "ok")
        self.assertEqual(self.code(token, now=NOW + 3600), "pass_expired")  # now < exp
        # nbf is optional in HCP1 but a visit pass has one; the window is judged first, as the server does.
        self.assertEqual(self.code(self.key.token(visit_claims(nbf=None))), "pass_malformed")
        self.assertEqual(self.code(self.key.token(visit_claims(nbf=None, jti=None)), now=NOW + 3600), "pass_expired")
        with self.assertRaises(ko.PassError):
            ko.verify(token, self.keys, 5, NOW + 3600)
        self.assertEqual(ko.verify(token, self.keys, 5, NOW + 3600, leeway=1)["apt"], 41)

    def test_site(self):
        self.assertEqual(self.code(self.key.token(visit_claims()), site=6), "pass_wrong_site")

    def test_signature(self):
        token = self.key.token(visit_claims())
        header, payload, signature = token.split(".")
        edited = ko.b64url_encode(ko.b64url_decode(payload).replace(b'"site":5', b'"site":6'))
        self.assertEqual(self.code(f"{header}.{edited}.{signature}", site=6), "pass_invalid_signature")
        other = GmsslKey()
        self.assertEqual(self.code(other.token(visit_claims())), "pass_invalid_signature")
        with self.assertRaises(ko.PassError) as unknown:
            ko.verify(self.key.token(visit_claims(), kid="k9"), self.keys, 5, NOW)
        self.assertEqual((unknown.exception.code, unknown.exception.unknown_key), ("pass_invalid_signature", True))
        raw = ko.b64url_decode(signature)
        flipped = raw[:-1] + bytes([raw[-1] ^ 1])
        self.assertEqual(self.code(f"{header}.{payload}.{ko.b64url_encode(flipped)}"), "pass_invalid_signature")
        self.assertEqual(self.code(f"{header}.{payload}.{ko.b64url_encode(b'0' * 64)}"), "pass_invalid_signature")

    def test_malformed(self):
        token = self.key.token(visit_claims())
        header, payload, signature = token.split(".")
        for bad in ("", "HCP1", f"{header}.{payload}", f"HCP2.{payload}.{signature}", f"{token}.x",
                    f"{header}.{payload}=.{signature}", f"{header}.{payload}.{signature}=",
                    f"{header}.{ko.b64url_encode(b'[1]')}.{signature}", f"{header}.{ko.b64url_encode(b'not json')}.{signature}",
                    "HCP1." + "A" * 5000 + ".AA"):
            self.assertEqual(self.code(bad), "pass_malformed", bad[:60])
        # Required claims, read only after the signature verifies for visit-specific ones.
        self.assertEqual(self.code(self.key.token(visit_claims(exp=None))), "pass_malformed")
        self.assertEqual(self.code(self.key.token(visit_claims(typ="prescription"))), "pass_malformed")
        self.assertEqual(self.code(self.key.token(visit_claims(jti=None))), "pass_malformed")
        self.assertEqual(self.code(self.key.token(visit_claims(site="5"))), "pass_malformed")
        self.assertEqual(self.code(self.key.token(visit_claims(site=True))), "pass_malformed")
        # The order of the contract: a forged token of another type is a bad signature first.
        forged = self.key.token(visit_claims(typ="prescription")).rsplit(".", 1)[0] + "." + signature
        self.assertEqual(self.code(forged), "pass_invalid_signature")

    @unittest.skipUnless(OPENSSL, "openssl CLI not found")
    def test_openssl_signed_pass(self):
        with tempfile.TemporaryDirectory() as work:
            def run(*args):
                return subprocess.run([OPENSSL, *args], cwd=work, capture_output=True, check=True)
            run("genpkey", "-algorithm", "SM2", "-out", "key.pem")
            run("pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem")
            keys = ko.load_keys({"keys": [{"kid": "ossl", "alg": "SM2-SM3", "current": True,
                                           "publicKeyPem": read(os.path.join(work, "pub.pem"))}]})
            payload = ko.b64url_encode(json.dumps(dict(visit_claims(), kid="ossl")).encode())
            with open(os.path.join(work, "msg.bin"), "w") as handle:
                handle.write(f"HCP1.{payload}")
            signatures = {}
            for name, extra in (("right", ["-pkeyopt", "distid:1234567812345678"]), ("empty-id", [])):
                run("pkeyutl", "-sign", "-inkey", "key.pem", "-rawin", "-in", "msg.bin", "-digest", "sm3",
                    "-out", f"{name}.sig", *extra)
                signatures[name] = read(os.path.join(work, f"{name}.sig"), "rb")
            token = f"HCP1.{payload}.{ko.b64url_encode(signatures['right'])}"
            self.assertEqual(ko.verify(token, keys, 5, NOW)["kid"], "ossl")
            # OpenSSL 3.0 without distid signs with an empty ID: not an HCP1 signature.
            self.assertEqual(self.code(f"HCP1.{payload}.{ko.b64url_encode(signatures['empty-id'])}", keys=keys),
                             "pass_invalid_signature")

    def test_cli(self):
        token = self.key.token(visit_claims())
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump({"keys": [{"kid": "k1", "alg": "SM2-SM3", "current": True, "publicKeyPem": self.key.pem()}]}, handle)
        try:
            for site, want_rc, want in ((5, 0, "visit"), (6, 1, "pass_wrong_site")):
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    rc = ko.main(["verify", "--keys", handle.name, "--site", str(site), "--now", str(NOW), token])
                self.assertEqual(rc, want_rc)
                self.assertIn(want, out.getvalue())
        finally:
            os.unlink(handle.name)


class KioskStateTests(unittest.TestCase):
    def test_used_list_queue_and_reconcile(self):
        key = GmsslKey()
        kiosk = ko.OfflineKiosk(5, {"k1": ko.PublicKey("k1", key.point)})
        first, second = key.token(visit_claims(jti="a")), key.token(visit_claims(jti="b", apt=42))
        kiosk.scan(first, NOW)
        with self.assertRaises(ko.PassError) as refused:
            kiosk.scan(first, NOW + 10)
        self.assertEqual(refused.exception.code, "pass_already_used")
        kiosk.scan(second, NOW + 20)
        self.assertEqual(kiosk.batches(), [{"checkins": [{"token": first, "scannedAt": NOW}, {"token": second, "scannedAt": NOW + 20}]}])
        batch = kiosk.batches()[0]
        follow_up = kiosk.reconcile(batch, {"results": [{"index": 0, "status": "checked_in", "queueNumber": 7},
                                                         {"index": 1, "status": "rejected", "code": "pass_cancelled"}]})
        self.assertEqual(follow_up, [{"token": second, "scannedAt": NOW + 20, "code": "pass_cancelled"}])
        self.assertEqual(kiosk.queue, [])
        kiosk.prune(NOW + 3600)
        self.assertEqual(kiosk.used, {})

    def test_batches_of_200(self):
        kiosk = ko.OfflineKiosk(5, {})
        kiosk.queue = [{"token": f"t{i}", "scannedAt": i} for i in range(450)]
        self.assertEqual([len(b["checkins"]) for b in kiosk.batches()], [200, 200, 50])


def rect_svg(matrix, quiet=4, unit=1, translate_group=True):
    """Dark modules as horizontal runs of <rect>, like qrencode's SVG writer."""
    size = len(matrix) + 2 * quiet
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size * unit} {size * unit}" width="{size * unit * 3}px">',
           f'<rect width="{size * unit}" height="{size * unit}" fill="#ffffff"/>']
    out.append(f'<g transform="translate({quiet * unit},{quiet * unit})" style="fill:#000">' if translate_group else "<g>")
    offset = 0 if translate_group else quiet
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                out.append(f'<rect x="{(start + offset) * unit}" y="{(y + offset) * unit}" width="{(x - start) * unit}" height="{unit}"/>')
            else:
                x += 1
    out.append("</g></svg>")
    return "\n".join(out)


def path_svg(matrix, quiet=4):
    """Every dark module as `M x y h1 v1 h-1 z`."""
    size = len(matrix) + 2 * quiet
    d = "".join(f"M{x + quiet} {y + quiet}h1v1h-1z" for y, row in enumerate(matrix) for x, v in enumerate(row) if v)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}"><path fill="#fff" d="M0 0h{size}v{size}h-{size}z"/>'
            f'<path d="{d}" fill="black"/></svg>')


class SvgTests(unittest.TestCase):
    TEXT = "HCP1.eyJhcHQiOjQxLCJleHAiOjE3OTU5MjM4MDYsInNpdGUiOjV9.MEUCIQDx-signature-like-tail_0123456789"

    @classmethod
    def setUpClass(cls):
        import zxingcpp

        cls.barcode = zxingcpp.create_barcode(cls.TEXT, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
        image = cls.barcode.to_image(scale=1, add_quiet_zones=False)
        height, width = image.shape
        pixels = bytes(memoryview(image))
        cls.matrix = [[pixels[y * width + x] < 128 for x in range(width)] for y in range(height)]

    def decode(self, svg):
        image, _, margins = pp.rasterize_svg(svg)
        found = pp.decode_qr(image)
        self.assertEqual([b.text for b in found], [self.TEXT])
        self.assertEqual(found[0].ec_level, "M")
        return margins

    def test_rect_runs_in_a_translated_group(self):
        self.assertEqual(self.decode(rect_svg(self.matrix)), (4, 4, 4, 4))

    def test_rect_scaled_units_without_group_transform(self):
        self.assertEqual(self.decode(rect_svg(self.matrix, unit=6, translate_group=False)), (4, 4, 4, 4))

    def test_path_of_unit_squares(self):
        self.assertEqual(self.decode(path_svg(self.matrix)), (4, 4, 4, 4))

    def test_zxing_writer_svg(self):
        # An independent writer (zint's): a group fill, a white <rect>, one <path> of runs.
        margins = self.decode(self.barcode.to_svg(add_quiet_zones=True))
        self.assertGreaterEqual(min(margins), 4)

    def test_missing_quiet_zone_is_reported(self):
        margins = pp.rasterize_svg(rect_svg(self.matrix, quiet=1))[2]
        self.assertEqual(margins, (1, 1, 1, 1))

    def test_evenodd_hole(self):
        svg = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
               '<path fill-rule="evenodd" d="M2,2 H8 V8 H2 Z M4,4 H6 V6 H4 Z"/></svg>')
        image = pp.rasterize_svg(svg, quiet_modules=0)[0]
        self.assertEqual(image.size, (40, 40))  # the smallest edge (2 units) is one 8-px module
        self.assertEqual(image.getpixel((10, 10)), 0)
        self.assertEqual(image.getpixel((20, 20)), 255)

    def test_unsupported_is_loud(self):
        for svg in ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 9 9"><circle r="3"/></svg>',
                    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 9 9"><path d="M0 0 C 1 1 2 2 3 3z"/></svg>',
                    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 9 9"><g transform="rotate(45)"><rect width="1" height="1"/></g></svg>',
                    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 9 9"><rect width="1" height="1" fill="url(#g)"/></svg>'):
            with self.assertRaises(ValueError, msg=svg):
                pp.rasterize_svg(svg)


NATIVE = {"version": 1, "items": [
    {"linkId": "temperature", "type": "decimal", "required": True, "minValue": 34, "maxValue": 43},
    {"linkId": "feverDays", "type": "integer", "required": True,
     "enableWhen": [{"question": "temperature", "operator": ">=", "answer": 37.3}], "enableBehavior": "all"},
    {"linkId": "otherSymptoms", "type": "choice", "repeats": True, "required": False,
     "options": [{"code": "fatigue", "display": "乏力 Fatigue"}, {"code": "myalgia", "display": "肌痛 Myalgia"}]},
]}
FHIR = {"resourceType": "Questionnaire", "status": "active", "item": [
    {"linkId": "symptoms", "type": "group", "text": "Symptoms", "item": [
        {"linkId": "temperature", "type": "decimal", "required": True, "text": "T"},
        {"linkId": "feverDays", "type": "integer", "required": True, "text": "D",
         "enableWhen": [{"question": "temperature", "operator": ">=", "answerDecimal": 37.3}], "enableBehavior": "all"},
        {"linkId": "otherSymptoms", "type": "choice", "repeats": True, "text": "O", "answerOption": [
            {"valueCoding": {"code": "fatigue", "display": "乏力 Fatigue"}}, {"valueCoding": {"code": "myalgia"}}]},
    ]}]}


class FhirTests(unittest.TestCase):
    def test_matching_questionnaire(self):
        self.assertEqual(pp.fhir_questionnaire_problems(FHIR, NATIVE), [])

    def test_problems_found(self):
        bad = json.loads(json.dumps(FHIR))
        bad["status"] = "published"
        items = bad["item"][0]["item"]
        items[0]["type"] = "number"
        items[1]["enableWhen"][0]["answerBoolean"] = True  # two answer[x]: the model refuses it
        items[2]["answerOption"].pop()
        bad["item"][0]["item"].append({"linkId": "extra", "type": "string"})
        problems = "\n".join(pp.fhir_questionnaire_problems(bad, NATIVE))
        for needle in ("status 'published'", "type 'number'", "fhir.resources refuses", "otherSymptoms: options", "extra: in the FHIR"):
            self.assertIn(needle, problems)
        self.assertTrue(pp.fhir_questionnaire_problems({"resourceType": "Patient", "status": "active"}, NATIVE))


if __name__ == "__main__":
    unittest.main(verbosity=1)
