"""A fresh patient's journey up to the visit pass, against a live server (HEALTHCLOUD_URL).

Signs in a new patient (random 139xxxxxxxx phone, code from the dev SMS outbox), answers the
fever pre-check, books the current window at the site of the demo kiosk kiosk.ruijin-fever
(demo-accounts.json, scope site:ID), then checks the pass three ways, each independent of the
server's code:
  - pass.png decoded by zxing-cpp (via Pillow): the text is the token, EC level M, a quiet
    zone of at least 4 modules;
  - pass.svg rasterized here (its <rect>/<path>/<polygon> shapes) and decoded by zxing-cpp;
  - the token verified offline by tools/kiosk_offline.py (gmssl) with GET /api/v1/keys: ok at
    the kiosk's site, pass_wrong_site at another, pass_invalid_signature once the payload is
    edited, pass_not_yet_valid / pass_expired at the window's edges.
Then GET /api/v1/precheck/questionnaire?format=fhir must be a valid FHIR R4 Questionnaire
(fhir.resources, R4B models: Questionnaire is unchanged from R4) that matches the native one.

The pure helpers (rasterize_svg, qr_margins, fhir_questionnaire_problems) are unit-tested
without a server by patient_pass_selftest.py.
"""
from __future__ import annotations

import io
import json
import math
import os
import random
import re
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import kiosk_offline  # noqa: E402  (tools/kiosk_offline.py)

# ---------------------------------------------------------------- SVG → image

_SKIPPED = {"desc", "title", "metadata", "defs"}
_NAMED = {"black": (0, 0, 0), "white": (255, 255, 255)}
_MODULE_PIXELS = 8  # each module becomes 8×8 pixels


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _number(text: str | None, default: float | None = None) -> float:
    if text is None:
        if default is None:
            raise ValueError("a required length is missing")
        return default
    match = re.fullmatch(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(px)?\s*", text)
    if not match:
        raise ValueError(f"unsupported length {text!r} (only user units or px)")
    return float(match.group(1))


def _numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", text)]


def _multiply(m, n):
    """Affine (a, b, c, d, e, f) matrices: m then n applied inside it (m · n)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + c * b2, b * a2 + d * b2, a * c2 + c * d2, b * c2 + d * d2, a * e2 + c * f2 + e, b * e2 + d * f2 + f)


def _transform(text: str | None):
    matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    if not text:
        return matrix
    for name, args in re.findall(r"(\w+)\s*\(([^)]*)\)", text):
        v = _numbers(args)
        if name == "translate":
            step = (1, 0, 0, 1, v[0], v[1] if len(v) > 1 else 0)
        elif name == "scale":
            step = (v[0], 0, 0, v[1] if len(v) > 1 else v[0], 0, 0)
        elif name == "matrix" and len(v) == 6:
            step = tuple(v)
        else:
            raise ValueError(f"unsupported transform {name}({args})")
        if step[1] or step[2]:
            raise ValueError("rotated or skewed QR modules are not supported")
        matrix = _multiply(matrix, step)
    return matrix


def _style(element) -> dict:
    style = dict(element.attrib)
    for declaration in element.get("style", "").split(";"):
        if ":" in declaration:
            key, value = declaration.split(":", 1)
            style[key.strip()] = value.strip()
    return style


def _paint(fill: str) -> bool | None:
    """True for a dark fill, False for a light one, None for no paint."""
    fill = fill.strip().lower()
    if fill in ("none", "transparent"):
        return None
    if fill == "currentcolor":
        return True
    if fill in _NAMED:
        rgb = _NAMED[fill]
    elif re.fullmatch(r"#[0-9a-f]{3}", fill):
        rgb = tuple(int(ch * 2, 16) for ch in fill[1:])
    elif re.fullmatch(r"#[0-9a-f]{6}([0-9a-f]{2})?", fill):
        rgb = tuple(int(fill[i:i + 2], 16) for i in (1, 3, 5))
    elif re.fullmatch(r"rgb\(\s*\d+\s*,\s*\d+\s*,\s*\d+\s*\)", fill):
        rgb = tuple(int(v) for v in re.findall(r"\d+", fill))
    else:
        raise ValueError(f"unsupported fill {fill!r}")
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 128


def _path_polygons(d: str) -> list[list[tuple[float, float]]]:
    """Subpaths of a path made of straight lines (M L H V Z, absolute or relative)."""
    tokens = re.findall(r"[A-Za-z]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", d)
    polygons, current = [], []
    x = y = start_x = start_y = 0.0
    command, index = None, 0

    def take():
        nonlocal index
        if index >= len(tokens) or tokens[index].isalpha():
            raise ValueError("path: missing coordinate")
        index += 1
        return float(tokens[index - 1])

    while index < len(tokens):
        if tokens[index].isalpha():
            command = tokens[index]
            index += 1
            if command in "Zz":
                if current:
                    polygons.append(current)
                current, x, y = [], start_x, start_y
                continue
        elif command is None:
            raise ValueError("path must start with a command")
        if command not in "MmLlHhVv":
            raise ValueError(f"path command {command!r} is not supported (straight lines only)")
        if command in "Mm":
            nx, ny = take(), take()
            x, y = (x + nx, y + ny) if command == "m" else (nx, ny)
            if current:
                polygons.append(current)
            current, start_x, start_y = [(x, y)], x, y
            command = "l" if command == "m" else "L"  # further pairs are line-tos
            continue
        if command in "Ll":
            nx, ny = take(), take()
            x, y = (x + nx, y + ny) if command == "l" else (nx, ny)
        elif command in "Hh":
            v = take()
            x = x + v if command == "h" else v
        else:
            v = take()
            y = y + v if command == "v" else v
        if not current:
            current = [(start_x, start_y)]
        current.append((x, y))
    if current:
        polygons.append(current)
    return [p for p in polygons if len(p) >= 3]


def svg_shapes(svg_text: str):
    """→ (viewBox (x, y, w, h), [(dark, polygons, fill_rule)]) in document (painting) order,
    polygons already in root user units."""
    root = ET.fromstring(svg_text)
    if _local(root.tag) != "svg":
        raise ValueError("not an SVG document")
    if root.get("viewBox"):
        box = _numbers(root.get("viewBox"))
        if len(box) != 4 or box[2] <= 0 or box[3] <= 0:
            raise ValueError("bad viewBox")
    else:
        box = [0.0, 0.0, _number(root.get("width")), _number(root.get("height"))]
    shapes = []

    def walk(element, inherited: dict, matrix):
        name = _local(element.tag)
        if name in _SKIPPED:
            return
        if name in ("style", "use", "image", "symbol", "pattern", "clipPath", "mask"):
            raise ValueError(f"<{name}> is not supported by this rasterizer")
        style = _style(element)
        state = {k: style.get(k, inherited.get(k)) for k in ("fill", "fill-rule", "opacity", "fill-opacity", "display")}
        if state["display"] == "none" or style.get("visibility") == "hidden":
            return
        matrix = _multiply(matrix, _transform(element.get("transform")))
        if name in ("rect", "path", "polygon"):
            if any(_number(style.get(k), 1.0) == 0 for k in ("opacity", "fill-opacity")):
                return
            dark = _paint(state["fill"] or "black")  # SVG's initial fill is black
            if dark is None:
                return
            if name == "rect":
                x, y = _number(element.get("x"), 0.0), _number(element.get("y"), 0.0)
                w, h = _number(element.get("width")), _number(element.get("height"))
                if w <= 0 or h <= 0:
                    return
                polygons = [[(x, y), (x + w, y), (x + w, y + h), (x, y + h)]]
            elif name == "path":
                polygons = _path_polygons(element.get("d", ""))
            else:
                values = _numbers(element.get("points", ""))
                polygons = [list(zip(values[0::2], values[1::2]))]
            a, _, _, d, e, f = matrix
            polygons = [[(a * px + e, d * py + f) for px, py in polygon] for polygon in polygons]
            shapes.append((dark, polygons, state["fill-rule"] or "nonzero"))
            return
        if name not in ("svg", "g", "a"):
            raise ValueError(f"<{name}> is not supported by this rasterizer")
        for child in element:
            walk(child, state, matrix)

    walk(root, {}, (1.0, 0.0, 0.0, 1.0, 0.0, 0.0))
    return tuple(box), shapes


def _module_size(shapes) -> float:
    """The smallest axis-aligned edge of a dark shape: one module, in user units."""
    sizes = [abs(x2 - x1) or abs(y2 - y1)
             for dark, polygons, _ in shapes if dark
             for polygon in polygons
             for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1])
             if (x1 == x2) != (y1 == y2)]
    sizes = [s for s in sizes if s > 1e-9]
    if not sizes:
        raise ValueError("the SVG draws no dark module")
    return min(sizes)


def rasterize_svg(svg_text: str, quiet_modules: int = 4):
    """Draws the SVG's QR modules → (PIL 'L' image with `quiet_modules` of extra white margin,
    pixels per module, the SVG's own margins in modules (left, top, right, bottom))."""
    from PIL import Image, ImageOps

    (vx, vy, vw, vh), shapes = svg_shapes(svg_text)
    scale = _MODULE_PIXELS / _module_size(shapes)  # pixels per user unit
    width, height = max(1, round(vw * scale)), max(1, round(vh * scale))
    canvas = bytearray(b"\xff" * (width * height))
    for dark, polygons, rule in shapes:
        _fill(canvas, width, height, [[((px - vx) * scale, (py - vy) * scale) for px, py in polygon] for polygon in polygons],
              0 if dark else 255, rule == "evenodd")
    image = Image.frombytes("L", (width, height), bytes(canvas))
    margins = qr_margins(image, _MODULE_PIXELS)
    if quiet_modules:
        image = ImageOps.expand(image, border=quiet_modules * _MODULE_PIXELS, fill=255)
    return image, _MODULE_PIXELS, margins


def _fill(canvas: bytearray, width: int, height: int, polygons, value: int, evenodd: bool) -> None:
    """Scanline fill sampling pixel centres; one call fills all subpaths under one fill rule."""
    rows: dict[int, list] = {}
    for polygon in polygons:
        for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1]):
            if y1 == y2:
                continue
            top, bottom = min(y1, y2), max(y1, y2)
            first = max(0, math.ceil(top - 0.5))
            last = min(height - 1, math.ceil(bottom - 0.5) - 1)
            for row in range(first, last + 1):
                yc = row + 0.5
                rows.setdefault(row, []).append((x1 + (yc - y1) * (x2 - x1) / (y2 - y1), 1 if y2 > y1 else -1))
    for row, crossings in rows.items():
        crossings.sort()
        winding, start = 0, None
        for x, direction in crossings:
            inside = (winding % 2 == 1) if evenodd else winding != 0
            winding += direction
            now_inside = (winding % 2 == 1) if evenodd else winding != 0
            if not inside and now_inside:
                start = x
            elif inside and not now_inside:
                a = max(0, math.ceil(start - 0.5))
                b = min(width, math.ceil(x - 0.5))
                if b > a:
                    canvas[row * width + a:row * width + b] = bytes([value]) * (b - a)


def qr_margins(image, module_pixels: float):
    """The white margin on each side of the dark pixels, in modules: (left, top, right, bottom)."""
    bbox = image.convert("L").point(lambda v: 255 if v < 128 else 0).getbbox()
    if bbox is None:
        raise ValueError("the image has no dark pixel")
    left, top, right, bottom = bbox
    w, h = image.size
    return tuple(v / module_pixels for v in (left, top, w - right, h - bottom))


def decode_qr(image) -> list:
    import zxingcpp

    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)


# ---------------------------------------------------------------- FHIR Questionnaire

R4_ITEM_TYPES = {"group", "display", "boolean", "decimal", "integer", "date", "dateTime", "time", "string", "text",
                 "url", "choice", "open-choice", "attachment", "reference", "quantity"}
R4_OPERATORS = {"exists", "=", "!=", ">", "<", ">=", "<="}
R4_STATUSES = {"draft", "active", "retired", "unknown"}


def _leaf_items(items, problems, path="item"):
    for i, item in enumerate(items or []):
        where = f"{path}[{i}]"
        if item.get("type") not in R4_ITEM_TYPES:
            problems.append(f"{where}: type {item.get('type')!r} is not an R4 item type")
        for j, condition in enumerate(item.get("enableWhen") or []):
            if condition.get("operator") not in R4_OPERATORS:
                problems.append(f"{where}.enableWhen[{j}]: operator {condition.get('operator')!r}")
        if item.get("enableBehavior") not in (None, "all", "any"):
            problems.append(f"{where}: enableBehavior {item.get('enableBehavior')!r}")
        if item.get("type") == "group":
            if not item.get("item"):
                problems.append(f"{where}: a group without items")
            yield from _leaf_items(item.get("item"), problems, where + ".item")
        elif item.get("type") != "display":
            yield item


def _answer_value(condition):
    values = [(k, v) for k, v in condition.items() if k.startswith("answer")]
    if len(values) != 1:
        return None
    key, value = values[0]
    return value.get("code") if key == "answerCoding" and isinstance(value, dict) else value


def fhir_questionnaire_problems(fhir: dict, native: dict) -> list[str]:
    """Validates `fhir` with fhir.resources (R4B Questionnaire, identical to R4's), checks the
    codes the models leave open, and compares every item with the native questionnaire."""
    from fhir.resources.R4B.questionnaire import Questionnaire

    problems = []
    if fhir.get("resourceType") != "Questionnaire":
        problems.append(f"resourceType is {fhir.get('resourceType')!r}")
    try:
        Questionnaire.model_validate(fhir)
    except Exception as error:  # noqa: BLE001 - pydantic's ValidationError and the model's own
        problems.append(f"fhir.resources refuses it: {str(error)[:800]}")
    if fhir.get("status") not in R4_STATUSES:
        problems.append(f"status {fhir.get('status')!r} is not an R4 publication status")
    leaves = {item.get("linkId"): item for item in _leaf_items(fhir.get("item"), problems)}
    native_items = {item["linkId"]: item for item in native.get("items", [])}
    for link_id in sorted(set(leaves) - set(native_items)):
        problems.append(f"{link_id}: in the FHIR form but not in the questionnaire")
    for link_id, item in native_items.items():
        leaf = leaves.get(link_id)
        if leaf is None:
            problems.append(f"{link_id}: missing from the FHIR form")
            continue
        if leaf.get("type") != item["type"]:
            problems.append(f"{link_id}: type {leaf.get('type')!r}, questionnaire says {item['type']!r}")
        if bool(leaf.get("required")) != bool(item.get("required")):
            problems.append(f"{link_id}: required {leaf.get('required')!r} vs {item.get('required')!r}")
        if bool(leaf.get("repeats")) != bool(item.get("repeats")):
            problems.append(f"{link_id}: repeats {leaf.get('repeats')!r} vs {item.get('repeats')!r}")
        if item["type"] == "choice":
            codes = {(o.get("valueCoding") or {}).get("code", o.get("valueString")) for o in leaf.get("answerOption") or []}
            native_codes = {o["code"] for o in item.get("options", [])}
            if codes != native_codes:
                problems.append(f"{link_id}: options {sorted(map(str, codes))} vs {sorted(native_codes)}")
        conditions, native_conditions = leaf.get("enableWhen") or [], item.get("enableWhen") or []
        if len(conditions) != len(native_conditions):
            problems.append(f"{link_id}: {len(conditions)} enableWhen conditions, questionnaire has {len(native_conditions)}")
        else:
            for got, want in zip(conditions, native_conditions):
                if (got.get("question"), got.get("operator")) != (want["question"], want["operator"]) \
                        or _answer_value(got) != want["answer"]:
                    problems.append(f"{link_id}: enableWhen {got} vs {want}")
            if native_conditions and leaf.get("enableBehavior", "all") != item.get("enableBehavior", "all") \
                    and len(native_conditions) > 1:
                problems.append(f"{link_id}: enableBehavior {leaf.get('enableBehavior')!r} vs {item.get('enableBehavior')!r}")
    return problems


# ---------------------------------------------------------------- the live check

ANSWERS = {  # a 34-year-old with 38.6 °C since yesterday, coughing: a fever-clinic referral
    "temperature": 38.6, "feverDays": 1, "cough": True, "soreThroat": True, "dyspnoea": False,
    "lossOfSmellTaste": False, "otherSymptoms": ["fatigue", "myalgia"], "dangerSigns": [],
    "contactWithCase": False, "riskAreaStay": False, "cluster": "none",
    "age": 34, "pregnant": False, "chronicDiseases": [], "immunosuppressed": False,
}


def main() -> int:  # noqa: C901 - one linear story, told step by step
    import requests
    from PIL import Image

    base = os.environ["HEALTHCLOUD_URL"].rstrip("/")
    data_dir = os.environ.get("HEALTHCLOUD_DATA_DIR", "data")
    accounts = json.load(open(os.path.join(data_dir, "demo-accounts.json"), encoding="utf-8"))
    failures = []

    def check(condition, message):
        if not condition:
            failures.append(message)
            print("  FAIL", message)
        return condition

    def code_of(response):
        try:
            return response.json()["error"]["code"]
        except Exception:  # noqa: BLE001 - report whatever came back
            return f"<{response.status_code} {response.text[:120]}>"

    def call(method, path, token=None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(method, base + path, headers=headers, timeout=15, **kwargs)

    def finish():
        print(f"patient pass: {len(failures)} failures")
        return 1 if failures else 0

    kiosk = next(a for a in accounts if a.get("username") == "kiosk.ruijin-fever")
    site = int(kiosk["scope"].split(":", 1)[1])
    other_site = site + 1

    # 1. A fresh patient signs in with a phone code.
    phone = "139" + "".join(random.choice("0123456789") for _ in range(8))
    r = call("POST", "/api/v1/auth/otp", json={"phone": phone})
    if not check(r.status_code == 202, f"otp {r.status_code} {code_of(r)}"):
        return finish()
    messages = call("GET", "/api/v1/dev/sms-outbox", params={"phone": phone}).json()["messages"]
    codes = [m.group(1) for m in (re.search(r"(\d{6})", msg["text"]) for msg in messages) if m]
    if not check(len(codes) == 1, f"one code in the dev SMS outbox for a new phone, got {len(codes)}"):
        return finish()
    r = call("POST", "/api/v1/auth/patient/login", json={"phone": phone, "code": codes[0]})
    if not check(r.status_code == 200, f"patient login {r.status_code} {code_of(r)}"):
        return finish()
    patient = r.json()["accessToken"]
    print(f"ok signed in a new patient {phone[:3]}****{phone[-4:]}")

    # 2. The pre-check.
    native = call("GET", "/api/v1/precheck/questionnaire").json()
    r = call("POST", "/api/v1/prechecks", patient,
             json={"questionnaireVersion": native.get("version", 1), "answers": ANSWERS, "location": {"lat": 31.21, "lng": 121.47}})
    if not check(r.status_code == 201, f"pre-check {r.status_code} {code_of(r)} {r.text[:300]}"):
        return finish()
    precheck = r.json()
    check(precheck["level"] in ("fever_clinic", "sentinel"), f"38.6 °C with a cough is referred, got {precheck['level']}")
    print(f"ok pre-check {precheck['id']}: {precheck['level']} ({', '.join(x['rule'] for x in precheck.get('reasons', []))})")

    # 3. Book the current window at the kiosk's site.
    slot = None
    for _ in range(2):
        now = int(time.time())
        slots = call("GET", f"/api/v1/sites/{site}/slots").json()["slots"]
        slot = next((s for s in slots if s["startsAt"] <= now < s["endsAt"]), None)
        if slot and slot["endsAt"] - now < 20:  # about to end: take the next window instead
            time.sleep(slot["endsAt"] - now + 1)
            continue
        break
    if not check(slot is not None and slot["bookable"], f"site {site} has a bookable slot now: {slot}"):
        return finish()
    r = call("POST", "/api/v1/appointments", patient, json={"slotId": slot["id"], "precheckId": precheck["id"]})
    if not check(r.status_code == 201, f"booking {r.status_code} {code_of(r)}"):
        return finish()
    appointment = r.json()
    check(appointment["status"] == "booked" and appointment["siteId"] == site, f"booked at site {site}: {appointment}")
    apt = appointment["id"]
    print(f"ok appointment {apt} at site {site}, {slot['start']}–{slot['end']}")

    # 4. The pass.
    r = call("GET", f"/api/v1/appointments/{apt}/pass", patient)
    if not check(r.status_code == 200, f"pass {r.status_code} {code_of(r)}"):
        return finish()
    visit_pass = r.json()
    token = visit_pass["token"]
    check(token.startswith("HCP1.") and token.count(".") == 2, f"an HCP1 token: {token[:40]}…")
    check(visit_pass["notBefore"] == slot["startsAt"] - 1800, f"notBefore = window start − 30 min: {visit_pass['notBefore']}")
    check(visit_pass["expiresAt"] == slot["endsAt"] + 1800, f"expiresAt = window end + 30 min: {visit_pass['expiresAt']}")

    # 5. pass.png, decoded by zxing-cpp; default and explicit scale.
    for scale in (None, 3):
        r = call("GET", f"/api/v1/appointments/{apt}/pass.png", patient, params={"scale": scale} if scale else None)
        label = f"pass.png{'?scale=%d' % scale if scale else ''}"
        if not check(r.status_code == 200 and r.headers.get("Content-Type", "").startswith("image/png"),
                     f"{label}: {r.status_code} {r.headers.get('Content-Type')}"):
            continue
        image = Image.open(io.BytesIO(r.content))
        image.load()
        found = decode_qr(image.convert("L"))
        if check(len(found) == 1, f"{label}: one QR code, found {len(found)}"):
            check(found[0].text == token, f"{label}: decodes to the token, got {found[0].text[:60]}…")
            check(found[0].ec_level == "M", f"{label}: error correction M, got {found[0].ec_level}")
        pixels = scale or 6
        margins = qr_margins(image, pixels)
        check(image.size[0] % pixels == 0 and image.size[0] == image.size[1], f"{label}: square, {pixels} px per module: {image.size}")
        check(min(margins) >= 4, f"{label}: a 4-module quiet zone, margins {margins}")
        print(f"ok {label}: {image.size[0]}×{image.size[1]}, margins {margins} modules")

    # 6. pass.svg, rasterized here.
    r = call("GET", f"/api/v1/appointments/{apt}/pass.svg", patient)
    if check(r.status_code == 200 and r.headers.get("Content-Type", "").startswith("image/svg+xml"),
             f"pass.svg: {r.status_code} {r.headers.get('Content-Type')}"):
        try:
            image, _, margins = rasterize_svg(r.text)
        except (ValueError, ET.ParseError) as error:
            check(False, f"pass.svg: cannot rasterize: {error}")
        else:
            found = decode_qr(image)
            if check(len(found) == 1, f"pass.svg: one QR code, found {len(found)}"):
                check(found[0].text == token, f"pass.svg: decodes to the token, got {found[0].text[:60]}…")
                check(found[0].ec_level == "M", f"pass.svg: error correction M, got {found[0].ec_level}")
            check(min(margins) >= 4, f"pass.svg: a 4-module quiet zone in its viewBox, margins {margins}")
            print(f"ok pass.svg: margins {margins} modules")

    # 7. Offline verification with the published keys.
    r = call("GET", "/api/v1/keys")
    cache = r.headers.get("Cache-Control", "")
    check("public" in cache and "max-age=300" in cache, f"/keys is cacheable for 5 minutes: {cache!r}")
    keys = kiosk_offline.load_keys(r.json())
    check(any(k.current for k in keys.values()), "one key is current")
    now = int(time.time())

    def offline(candidate, at_site, at):
        try:
            return kiosk_offline.verify(candidate, keys, at_site, at)
        except kiosk_offline.PassError as error:
            return error.code

    claims = offline(token, site, now)
    if check(isinstance(claims, dict), f"the pass verifies offline at site {site}: {claims}"):
        check(claims["typ"] == "visit" and claims["apt"] == apt and claims["site"] == site, f"claims name the visit: {claims}")
        check(claims.get("nbf") == visit_pass["notBefore"] and claims["exp"] == visit_pass["expiresAt"], "claims carry the pass's window")
        check(not {"phone", "name", "idNumber", "patient"} & set(claims), f"no personal data in the claims: {sorted(claims)}")
        check(offline(token, site, claims["nbf"] - 1) == "pass_not_yet_valid", "a second before nbf: pass_not_yet_valid")
        check(offline(token, site, claims["exp"]) == "pass_expired", "at exp: pass_expired")
        check(offline(token, other_site, now) == "pass_wrong_site", f"at site {other_site}: pass_wrong_site")
        payload = dict(claims, site=other_site)
        edited = "HCP1." + kiosk_offline.b64url_encode(json.dumps(payload, separators=(",", ":")).encode()) + "." + token.split(".")[2]
        check(offline(edited, other_site, now) == "pass_invalid_signature", "an edited payload: pass_invalid_signature")
        check(offline(token.rsplit(".", 1)[0], site, now) == "pass_malformed", "no signature: pass_malformed")
        kiosk_state = kiosk_offline.OfflineKiosk(site, keys)
        kiosk_state.scan(token, now)
        try:
            kiosk_state.scan(token, now + 5)
            check(False, "a second scan at the same kiosk is refused")
        except kiosk_offline.PassError as error:
            check(error.code == "pass_already_used", f"a second scan: {error.code}")
        print(f"ok verified offline with {claims['kid']} ({len(keys)} published key(s))")

    # 8. The questionnaire as FHIR R4.
    r = call("GET", "/api/v1/precheck/questionnaire", params={"format": "fhir"})
    if check(r.status_code == 200, f"questionnaire?format=fhir {r.status_code} {code_of(r)}"):
        check(r.headers.get("Content-Type", "").split(";")[0] in ("application/fhir+json", "application/json"),
              f"FHIR content type: {r.headers.get('Content-Type')}")
        problems = fhir_questionnaire_problems(r.json(), native)
        for problem in problems:
            check(False, f"FHIR Questionnaire: {problem}")
        if not problems:
            print(f"ok FHIR R4 Questionnaire with {len(native.get('items', []))} items")

    return finish()


if __name__ == "__main__":
    sys.exit(main())
