"""Replays the spring-2022 Shanghai wave through the reporting API and tabulates the early warnings.

Reads `healthcloud replay-2022-reports` output (one JSON line per day) on stdin, posts each day
as one POST /api/v1/reports:batch as reporter.city (days in date order), then reads every
warning as leader.city and prints, per district and for the city, the real peak date and the
first date each detector opened a warning. Progress goes to stderr, the tables to stdout.

Usage: replay_2022.py --url URL --accounts demo-accounts.json --data DIR --districts CSV
Called by tools/replay-2022; not meant to be run by hand against a database that has reports.
"""
import argparse
import csv
import datetime as dt
import json
import statistics
import sys
import time
from collections import defaultdict

import pyotp
import requests

DETECTORS = [f"{m}_{s}" for s in ("fever_visits", "fever_positives") for m in ("ears_c1", "ears_c2", "ears_c3", "cusum")]
SHORT = {"ears_c1": "C1", "ears_c2": "C2", "ears_c3": "C3", "cusum": "CUSUM"}
BASELINE_RULE = "fever_positive_rate"
OK_STATUSES = {"accepted", "accepted_with_warnings"}
WAVE_START = dt.date(2022, 3, 6)  # wave day 0: the generated reports carry no cases before it, so earlier fires are false alarms


def die(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def short_rule(rule):
    method, _, series = rule.partition("_fever_")
    return f"{SHORT[method]} {'vis' if series == 'visits' else 'pos'}"


class Client:
    """A signed-in staff account; refreshes its access token before it expires (15 min)."""

    def __init__(self, url, accounts, username):
        self.url, self.http = url, requests.Session()
        account = next((a for a in accounts if a.get("username") == username), None)
        if account is None:
            die(f"{username} is not in the demo accounts file")
        challenge = self.http.post(f"{url}/api/v1/auth/staff/login", json={"username": username, "password": account["password"]}, timeout=30)
        self.check(challenge, f"sign-in of {username}")
        tokens = self.http.post(f"{url}/api/v1/auth/staff/mfa", timeout=30,
                                json={"mfaToken": challenge.json()["mfaToken"], "code": pyotp.TOTP(account["totpSecret"]).now()})
        self.check(tokens, f"MFA of {username}")
        self.take(tokens.json())

    def take(self, pair):
        self.access, self.refresh_token = pair["accessToken"], pair["refreshToken"]
        self.expires = time.monotonic() + int(pair.get("expiresIn", 900)) - 120

    @staticmethod
    def check(response, what):
        if response.status_code != 200:
            die(f"{what}: HTTP {response.status_code} {response.text[:500]}")

    def request(self, method, path, **kwargs):
        if time.monotonic() > self.expires:
            refreshed = self.http.post(f"{self.url}/api/v1/auth/refresh", json={"refreshToken": self.refresh_token}, timeout=30)
            self.check(refreshed, "token refresh")
            self.take(refreshed.json())
        response = self.http.request(method, f"{self.url}{path}", headers={"Authorization": f"Bearer {self.access}"}, timeout=600, **kwargs)
        self.check(response, f"{method} {path}")
        return response.json()


def replay(client, lines):
    """Posts each day's batch; returns (days, reports, seconds spent posting)."""
    previous, days, reports, posting = None, 0, 0, 0.0
    for line in lines:
        if not line.strip():
            continue
        day = json.loads(line)
        date, items = day["date"], day["reports"]
        if previous is not None and date <= previous:
            die(f"days out of order: {date} after {previous}")
        if not 1 <= len(items) <= 1000:
            die(f"{date}: {len(items)} reports, the batch takes 1 to 1000")
        started = time.monotonic()
        results = client.request("POST", "/api/v1/reports:batch", json={"reports": items})["results"]
        posting += time.monotonic() - started
        if len(results) != len(items):
            die(f"{date}: {len(items)} reports sent, {len(results)} results back")
        bad = [r for r in results if r.get("status") not in OK_STATUSES]
        if bad:
            for result in bad[:5]:
                print(json.dumps(result, ensure_ascii=False), file=sys.stderr)
            die(f"{date}: {len(bad)} of {len(items)} reports not accepted (first ones above)")
        previous, days, reports = date, days + 1, reports + len(items)
        if days % 10 == 0:
            print(f"  {date}: {days} days, {reports} reports, {reports / posting:.0f} reports/s", file=sys.stderr, flush=True)
    if days == 0:
        die("no days on stdin")
    print(f"  {previous}: {days} days, {reports} reports posted in {posting:.1f} s", file=sys.stderr, flush=True)
    return days, reports, posting


def all_warnings(client):
    warnings, offset = [], 0
    while offset is not None:
        page = client.request("GET", f"/api/v1/warnings?scope=city&status=all&limit=1000&offset={offset}")
        warnings += page["warnings"]
        offset = page.get("next")  # absent on the last page
    return warnings


def read_cases(data_dir, districts_csv):
    """Real daily cases: code (and 'city') → {date: count}, and population in 10k."""
    districts, code_of, population = [], {}, {}
    with open(districts_csv, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            districts.append((row["code"], row["name_en"], row["name_zh"]))
            population[row["code"]] = float(row["population_10k"])
            name = row["name_zh"]
            code_of[name] = code_of[name[:-2] if name.endswith("新区") else name[:-1]] = row["code"]
    daily = defaultdict(lambda: defaultdict(int))
    with open(f"{data_dir}/shanghai_district_data.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            code = code_of.get(row["district"])  # '其他' (unassigned) is left out
            if code:
                daily[code][dt.datetime.strptime(row["date"], "%Y%m%d").date()] += int(row["count"])
    # City: new local infections = confirmed (确诊病例) + asymptomatic (无症状感染者), as the district file counts them.
    city = daily["city"]
    with open(f"{data_dir}/shanghai_data.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            city[dt.datetime.strptime(row["时间"], "%Y%m%d").date()] = int(row["确诊病例"] or 0) + int(row["无症状感染者"] or 0)
    population["city"] = sum(population.values())
    return districts, daily, population


def md(d):
    return d.strftime("%m-%d") if d else "—"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--accounts", required=True, help="demo-accounts.json")
    parser.add_argument("--data", required=True, help="directory with shanghai_data.csv and shanghai_district_data.csv")
    parser.add_argument("--districts", required=True, help="shanghai-districts.csv (code, name_zh, name_en)")
    args = parser.parse_args()
    url = args.url.rstrip("/")
    with open(args.accounts, encoding="utf-8") as f:
        accounts = json.load(f)
    districts, cases, population = read_cases(args.data, args.districts)

    reporter = Client(url, accounts, "reporter.city")
    days, reports, posting = replay(reporter, sys.stdin)
    warnings = all_warnings(Client(url, accounts, "leader.city"))

    # First openedDate per (scope, rule), and every opening for the rule summary.
    first, opened = {}, defaultdict(list)
    for w in warnings:
        if not (w["scope"] == "city" or w["scope"].startswith("district:")):
            continue
        key = ("city" if w["scope"] == "city" else w["scope"].split(":", 1)[1], w["ruleId"])
        day = dt.date.fromisoformat(w["openedDate"])
        first[key] = min(first.get(key, day), day)
        opened[w["ruleId"]].append((key[0], day, dt.date.fromisoformat(w["lastFiredDate"])))

    scopes = [(code, f"{en} {code}") for code, en, _ in districts] + [("city", "City (全市)")]
    header = (["scope", "peak (cases)", "≥1/10k"] + [short_rule(r) for r in DETECTORS]
              + ["earliest", "lead (d)", f"earliest ≥{md(WAVE_START)} (cases)", "lead (d) ", "pos. rate ≥5%"])
    print(f"\nFirst warning opened per detector, {days} days replayed. Dates are 2022, MM-DD; — = never. Peak: the real daily maximum"
          f" (confirmed + asymptomatic); ≥1/10k: first day with at least 1 real case per 10k residents; lead = peak − earliest detector"
          f" date, then the same counting only warnings opened from {md(WAVE_START)} (wave day 0), with that day's real cases.\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    leads, wave_leads, ahead_of_rate, ahead_of_10k = [], [], [], []
    for code, label in scopes:
        series = cases.get(code, {})
        peak_day, peak_count = max(series.items(), key=lambda kv: (kv[1], -kv[0].toordinal())) if series else (None, 0)
        per_10k = next((d for d in sorted(series) if series[d] >= population[code]), None)
        dates = [first.get((code, r)) for r in DETECTORS]
        earliest = min((d for d in dates if d), default=None)
        in_wave = min((start for rule in DETECTORS for scope, start, _ in opened[rule] if scope == code and start >= WAVE_START), default=None)
        lead = (peak_day - earliest).days if earliest and peak_day else None
        wave_lead = (peak_day - in_wave).days if in_wave and peak_day else None
        if code != "city":
            leads += [lead] if lead is not None else []
            wave_leads += [wave_lead] if wave_lead is not None else []
            if in_wave and first.get((code, BASELINE_RULE)):
                ahead_of_rate.append((first[(code, BASELINE_RULE)] - in_wave).days)
            if in_wave and per_10k:
                ahead_of_10k.append((per_10k - in_wave).days)
        row = [label, f"{md(peak_day)} ({peak_count})", md(per_10k)] + [md(d) for d in dates]
        row += [md(earliest), "—" if lead is None else f"{lead:+d}",
                f"{md(in_wave)} ({series.get(in_wave, '?')})" if in_wave else "—", "—" if wave_lead is None else f"{wave_lead:+d}",
                md(first.get((code, BASELINE_RULE)))]
        print("| " + " | ".join(row) + " |")
    for name, values in (("any warning", leads), (f"warnings from {md(WAVE_START)}", wave_leads)):
        if values:
            print(f"\nDistrict lead times, {name}: median {statistics.median(values):+.0f} d, min {min(values):+d}, max {max(values):+d}, "
                  f"{sum(1 for x in values if x > 0)} of {len(districts)} positive, {len(districts) - len(values)} never fired.", end="")
    for name, values in ((f"the first {BASELINE_RULE} warning", ahead_of_rate), ("the day cases reached 1 per 10k", ahead_of_10k)):
        if values:
            print(f"\nEarliest detector from {md(WAVE_START)} ahead of {name}, by district: median {statistics.median(values):+.0f} d, "
                  f"min {min(values):+d}, max {max(values):+d} ({len(values)} districts).", end="")
    print()

    print("\nPer detector over the 16 districts and the city (a warning resolves after 3 clear days; a later rise opens a new one):\n")
    print(f"| rule | warnings opened | opened before {md(WAVE_START)} | scopes that fired | days opened→last fired (median, max) |")
    print("|---|---|---|---|---|")
    for rule in DETECTORS + [BASELINE_RULE]:
        rows = opened.get(rule, [])
        spans = [(last - start).days + 1 for _, start, last in rows]
        early = sum(1 for _, start, _ in rows if start < WAVE_START)
        span = f"{statistics.median(spans):.0f}, {max(spans)}" if spans else "—"
        print(f"| {rule} | {len(rows)} | {early} | {len({s for s, _, _ in rows})} of {len(scopes)} | {span} |")
    by_rule = defaultdict(int)
    for w in warnings:
        if w["scope"].startswith("campus:"):
            by_rule[w["ruleId"]] += 1
    print("\nCampus-level warnings opened, by rule: "
          + (", ".join(f"{r} {n}" for r, n in sorted(by_rule.items(), key=lambda kv: -kv[1])) or "none") + ".")
    print(f"\nIngest: {reports} reports in {days} daily batches, {posting:.1f} s posting, {reports / posting:.0f} reports/s; "
          f"{len(warnings)} warnings in all ({sum(1 for w in warnings if w['scope'].startswith('campus:'))} of them campus-level).")


if __name__ == "__main__":
    main()
