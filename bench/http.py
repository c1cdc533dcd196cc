# ruff: noqa: E402
"""The production topology under load: `make serve`'s processes (deploy/serve.py) on
PostgreSQL + Redis with N listings, driven with wrk page by page.

    .venv/bin/python bench/http.py --listings 100000 \
        --database-url postgres://postgres@127.0.0.1:5432/partage_bench

For each number of connections (--connections, default 32,128) and each page, wrk runs
for --duration seconds and one JSON line is printed: requests/s, p50/p95/p99 in ms,
errors (statuses other than 2xx/3xx, and socket errors: connect, read, write,
timeout), the ratio of its rate to the baseline's (/manifest.webmanifest, the lightest
Django view) measured in the same run, PostgreSQL's peak connection count to the
database and each process's peak RSS in MB during that page. Progress goes to stderr.

The database is migrated, topped up with `manage.py seed_bulk` to --listings and
ANALYZEd; use a dedicated one. The signed-in pages use a bulk member (seed_bulk's
password), with one conversation and one exchange made for it here.
"""

from __future__ import annotations

import sys

# Run as `python bench/http.py`, this file's folder comes first on sys.path and its name
# would hide the standard library's `http` package from every import below (hence the
# imports after this line, and the file-wide E402 exemption at the top).
sys.path[:] = [p for p in sys.path if p not in ("", __file__.rpartition("/")[0] or ".")]

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.client import HTTPConnection
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BULK_PASSWORD = "partage-bench"  # listings/management/commands/seed_bulk.py

# (name, path, signed in). The first is the baseline. Anonymous pages are kept by
# nginx's cache (deploy/nginx.conf.template) for 30 s, so a repeated URL measures the
# cache; a name ending in "_miss" adds a query parameter of its own to every request
# (wrk's request() in MISS_SCRIPT), so each one is rendered by Django: the rate of a
# page nobody asked for in the last 30 s.
PAGES: list[tuple[str, str, bool]] = [
    # Django's lightest view, rendered for every request (a query of its own each: nginx
    # would keep it an hour otherwise), as in the earlier runs without nginx's cache.
    ("baseline_manifest", "/manifest.webmanifest?", False),
    ("home", "/", False),
    ("search_plain", "/listings/", False),
    ("search_text", "/listings/?q=perceuse", False),
    ("search_distance", "/listings/?near=Annecy&radius=10", False),
    ("search_ride_destination", "/listings/?kind=ride&destination_near=Geneva", False),
    ("search_deep_page", "/listings/?page=40", False),
    ("home_miss", "/?", False),
    ("search_plain_miss", "/listings/?", False),
    ("search_text_miss", "/listings/?q=perceuse", False),
    ("search_distance_miss", "/listings/?near=Annecy&radius=10", False),
    ("listing_detail", "/listings/{listing}/", False),
    ("inbox", "/messages/", True),
    ("exchange", "/exchanges/{exchange}/", True),
    ("time_account", "/time/", True),
]

# wrk's report as JSON: latency percentiles in microseconds and every error counter.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50": %d, "p95": %d, "p99": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.connect, e.read, e.write, e.timeout, e.status))
end
"""

# Every request a URL of its own (per wrk thread: a counter and a random number).
MISS_SCRIPT = WRK_SCRIPT + """
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, wrk.path .. "&u=" .. counter .. "-" .. math.random(1000000000))
end
"""

FIXTURES = """
import json
from datetime import date, timedelta
from allauth.account.models import EmailAddress
from exchanges import services as exchanges
from listings.models import Listing
from members.models import Member
from messaging import conversations
me = Member.objects.filter(email__startswith="bulk-").order_by("pk").first()
EmailAddress.objects.filter(user=me).update(verified=True)
exchange = None
for listing in (Listing.objects.filter(status="active", kind="item")
                .exclude(owner=me).order_by("pk")[:50]):
    try:
        start = date.today() + timedelta(days=60)
        exchange = exchanges.exchange_request(
            listing=listing, asker=me, start_date=start, end_date=start + timedelta(days=1),
            message="Bench")
        break
    except Exception:
        continue
conversations.conversation_for_listing(listing=exchange.listing, member=me)
print("FIXTURES " + json.dumps({"email": me.email, "exchange": exchange.pk,
                                "listing": exchange.listing_id}))
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def manage(env: dict, *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, check=True,
        stdout=subprocess.PIPE if capture else sys.stderr, text=True,
    )
    return result.stdout if capture else ""


def prepare_database(url: str, listings: int, env: dict) -> dict:
    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    manage(env, "migrate", "--noinput", "-v", "0")
    with psycopg.connect(url, autocommit=True) as conn:
        have = conn.execute("SELECT count(*) FROM listings_listing").fetchone()[0]
    if have < listings:
        log(f"seed_bulk: {have} -> {listings} listings")
        manage(env, "seed_bulk", "--listings", str(listings - have))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
        have = conn.execute("SELECT count(*) FROM listings_listing").fetchone()[0]
    out = manage(env, "shell", "-c", FIXTURES, capture=True)
    fixtures = json.loads(out.split("FIXTURES ", 1)[1])
    fixtures["listings"] = have
    return fixtures


def log_in(port: int, email: str) -> str:
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/accounts/login/")
    response = conn.getresponse()
    page = response.read().decode()
    csrf = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    conn.request("POST", "/accounts/login/", body=urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "login": email, "password": BULK_PASSWORD}
    ), headers={"Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={csrf}", "Referer": f"http://127.0.0.1:{port}/"})
    response = conn.getresponse()
    response.read()
    cookies = "; ".join(response.headers.get_all("Set-Cookie") or [])
    match = re.search(r"sessionid=([^;]+)", cookies)
    if response.status != 302 or not match:
        raise SystemExit(f"log-in failed: {response.status}")
    return match.group(1)


def process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return pids


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Sampler:
    """Every 100 ms: PostgreSQL's connections to the database and each process's RSS."""

    def __init__(self, url: str, database: str, roots: dict[str, int]) -> None:
        self.url, self.database, self.roots = url, database, roots
        self.pg_peak = 0
        self.rss_peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.is_set():
                count = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                    " AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
                    [self.database],
                ).fetchone()[0]
                self.pg_peak = max(self.pg_peak, count)
                for name, root in self.roots.items():
                    for pid in process_tree(root):
                        key = f"{name}:{pid}"
                        self.rss_peak[key] = max(self.rss_peak.get(key, 0.0), rss_mb(pid))
                time.sleep(0.1)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def settle(port: int, limit_seconds: float = 120) -> float:
    """Wait until the baseline answers within 200 ms again; return the seconds waited.
    wrk closes its connections at the end of a run, but requests already queued at
    the workers are still served, one after the other: without this the next page
    would be measured behind the last one's backlog."""
    started = time.monotonic()
    while time.monotonic() - started < limit_seconds:
        began = time.monotonic()
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/manifest.webmanifest", timeout=limit_seconds
            ):
                pass
        except OSError:
            pass
        if time.monotonic() - began < 0.2:
            break
    return time.monotonic() - started


def run_wrk(url: str, connections: int, duration: int, cookie: str | None,
            script: Path) -> dict:
    # A request slower than 30 s counts as a timeout error (wrk's default is 2 s).
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s",
               "--timeout", "30s", "-s", str(script)]
    if cookie:
        command += ["-H", f"Cookie: sessionid={cookie}"]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    return json.loads(out.split("WRKJSON ", 1)[1].splitlines()[0])


def upload_refusal(port: int, roots: dict[str, int], size: int = 100 * 1024 * 1024) -> dict:
    """POST `size` bytes through nginx (sent until it answers): the status, the seconds
    to the answer, the bytes sent by then and how much each process grew meanwhile."""
    import socket

    before = {f"{n}:{pid}": rss_mb(pid) for n, r in roots.items() for pid in process_tree(r)}
    started = time.monotonic()
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST /listings/new/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/octet-stream\r\n"
                     + f"Content-Length: {size}\r\n\r\n".encode())
        sock.setblocking(False)
        chunk = b"\0" * 65536
        head = b""
        while not head and sent < size and time.monotonic() - started < 30:
            try:
                head = sock.recv(4096)
            except BlockingIOError:
                try:
                    sent += sock.send(chunk)
                except (BlockingIOError, OSError):
                    time.sleep(0.001)
            except OSError:
                break
        sock.settimeout(30)
        if not head:
            head = sock.recv(4096)
    seconds = time.monotonic() - started
    after = {f"{n}:{pid}": rss_mb(pid) for n, r in roots.items() for pid in process_tree(r)}
    return {
        "page": "upload_100mb_refused", "status": int(head.split()[1]),
        "seconds": round(seconds, 3), "bytes_sent_before_answer": sent,
        "rss_growth_mb": {k: round(after.get(k, 0) - v, 1) for k, v in sorted(before.items())},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL",
                                                              "redis://127.0.0.1:6379/0"))
    parser.add_argument("--connections", default="32,128")
    parser.add_argument("--duration", type=int, default=10, help="seconds per page")
    parser.add_argument("--http-workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--http-threads", type=int, default=1)
    parser.add_argument("--pages", default="", help="comma-separated page names (all)")
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("--database-url (or DATABASE_URL) must be a PostgreSQL database")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    env = {**os.environ, "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url,
           "REDIS_PREFIX": "bench-http", "DEBUG": "false", "LOG_LEVEL": "WARNING"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    fixtures = prepare_database(args.database_url, args.listings, env)
    log(f"fixtures: {fixtures}")

    work = Path(tempfile.mkdtemp(prefix="partage-bench-http-"))
    script = work / "report.lua"
    script.write_text(WRK_SCRIPT)
    miss_script = work / "miss.lua"
    miss_script.write_text(MISS_SCRIPT)
    port = 18000 + os.getpid() % 1000
    serve = subprocess.Popen(
        [sys.executable, str(ROOT / "deploy" / "serve.py"), "--port", str(port),
         "--http-workers", str(args.http_workers), "--http-threads", str(args.http_threads),
         "--run-dir", str(work / "run"), "--state-file", str(work / "state.json"),
         "--no-migrate", "--no-access-log"],
        cwd=ROOT, env=env, stdout=sys.stderr,
    )
    try:
        deadline = time.monotonic() + 90
        while not (work / "state.json").exists():
            if serve.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("serve.py did not start")
            time.sleep(0.2)
        state = json.loads((work / "state.json").read_text())
        cookie = log_in(port, fixtures["email"])
        database = urllib.parse.urlsplit(args.database_url).path.lstrip("/")
        wanted = set(filter(None, args.pages.split(",")))
        pages = [p for p in PAGES if not wanted or p[0] in wanted or p == PAGES[0]]
        for connections in [int(c) for c in args.connections.split(",")]:
            baseline_rps = None
            for name, path, signed_in in pages:
                url = f"http://127.0.0.1:{port}" + path.format(**fixtures)
                lua = miss_script if name.endswith("_miss") or path == PAGES[0][1] else script
                # A warm-up second: connections opened, caches and pools filled.
                run_wrk(url, min(connections, 8), 1, cookie if signed_in else None, lua)
                drained = settle(port)
                with Sampler(args.database_url, database, state["pids"]) as sampler:
                    result = run_wrk(url, connections, args.duration,
                                     cookie if signed_in else None, lua)
                rps = result["requests"] / (result["duration_us"] / 1e6)
                baseline_rps = baseline_rps or rps
                errors = sum(result[k] for k in ("connect", "read", "write", "timeout",
                                                  "status"))
                print(json.dumps({
                    "page": name, "path": path.format(**fixtures),
                    "connections": connections, "duration_s": args.duration,
                    "listings": fixtures["listings"], "rps": round(rps, 1),
                    "p50_ms": round(result["p50"] / 1000, 1),
                    "p95_ms": round(result["p95"] / 1000, 1),
                    "p99_ms": round(result["p99"] / 1000, 1),
                    "errors": errors,
                    "error_kinds": {k: result[k] for k in
                                    ("connect", "read", "write", "timeout", "status")
                                    if result[k]},
                    "ratio_to_baseline": round(rps / baseline_rps, 3),
                    "pg_peak_connections": sampler.pg_peak,
                    "settled_before_s": round(drained, 1),
                    "rss_peak_mb": {k: round(v) for k, v in sorted(sampler.rss_peak.items())},
                }), flush=True)
        print(json.dumps(upload_refusal(port, state["pids"])), flush=True)
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
