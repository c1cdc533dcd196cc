#!/usr/bin/env python
"""The ledger's transfer rate next to pgbench's TPC-B, on one PostgreSQL, in one run.

Run by hand from the repository root (never part of the test suite):

    .venv/bin/python bench/ledger.py --postgres postgres://postgres@127.0.0.1:5432/postgres
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/ledger.py

The URL names the server (and a database to connect to for admin work); the benchmark
creates its own throwaway database there and drops it at the end. Steps:

1. pgbench TPC-B: `pgbench -i -s 1`, then `pgbench -c 8 -j 2 -T <seconds>`; its tps.
2. migrate, create --members members, then `transfer_post` from 8 concurrent clients for
   <seconds>: one process with 8 threads, then 2 processes with 4 threads each (as web
   workers would call it). Each client has its own connection; keys are unique.
3. `ledger_audit` afterwards.

`--orm-path` turns PostgreSQL's one-statement posting off (the ORM path, as on SQLite),
to compare both under the same conditions. Prints ONE JSON line on stdout; progress goes to stderr. ledger_tps is the better of the
two layouts; ratio = ledger_tps / pgbench_tps (ARCHITECTURE.md aims at >= 0.25).
"""

from __future__ import annotations

import sys
from pathlib import Path

# ruff: noqa: E402
# bench/http.py would hide the standard library's `http` package (urllib, Django and
# websockets import it): run as a script, this folder comes first on sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from glob import glob
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def find_pgbench() -> str:
    found = shutil.which("pgbench") or next(iter(sorted(glob("/usr/lib/postgresql/*/bin/pgbench"),
                                                        reverse=True)), None)
    if not found:
        sys.exit("pgbench not found (Debian: apt-get install postgresql-client or -contrib)")
    return found


def with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


def admin_sql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def run_pgbench(url: str, clients: int, threads: int, seconds: int) -> float:
    pgbench = find_pgbench()
    parts = urlparse(url)
    env = {**os.environ}
    if parts.password:
        env["PGPASSWORD"] = parts.password
    common = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
              "-U", parts.username or "postgres"]
    dbname = parts.path.lstrip("/")
    log("pgbench -i -s 1 ...")
    subprocess.run([pgbench, *common, "-i", "-s", "1", "-q", dbname], env=env, check=True,
                   capture_output=True)
    log(f"pgbench -c {clients} -j {threads} -T {seconds} ...")
    out = subprocess.run([pgbench, *common, "-c", str(clients), "-j", str(threads),
                          "-T", str(seconds), dbname], env=env, check=True,
                         capture_output=True, text=True).stdout
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out) or re.search(
        r"tps = ([0-9.]+)", out)
    if not match:
        sys.exit(f"cannot read pgbench's tps from:\n{out}")
    # Drop pgbench's tables so they do not sit next to the ledger's.
    admin_sql(url, "DROP TABLE IF EXISTS pgbench_accounts, pgbench_branches, pgbench_history, "
                   "pgbench_tellers")
    return float(match.group(1))


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def client_loop(member_ids: list[int], deadline: float, seed: int, counts: dict,
                lock: threading.Lock) -> None:
    """One client: random transfers of 5..60 minutes until the deadline."""
    from django.db import connection

    from ledger.services import LedgerError, transfer_post
    from members.models import Member

    rng = random.Random(seed)
    members = {m.pk: m for m in Member.objects.filter(pk__in=member_ids)}
    ids = list(members)
    posted = refused = 0
    try:
        while time.monotonic() < deadline:
            payer, payee = rng.sample(ids, 2)
            try:
                transfer_post(payer=members[payer], payee=members[payee],
                              minutes=rng.randint(5, 60), idempotency_key=uuid.uuid4().hex,
                              reference="bench")
                posted += 1
            except LedgerError:
                refused += 1
    finally:
        connection.close()
    with lock:
        counts["posted"] += posted
        counts["refused"] += refused


def run_threads(member_ids: list[int], threads: int, seconds: float, seed: int) -> dict:
    counts = {"posted": 0, "refused": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    workers = [threading.Thread(target=client_loop,
                                args=(member_ids, deadline, seed + i, counts, lock))
               for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return counts


def _process_main(member_ids, threads, seconds, seed, queue) -> None:
    queue.put(run_threads(member_ids, threads, seconds, seed))


def run_processes(member_ids: list[int], processes: int, threads: int, seconds: float,
                  seed: int) -> dict:
    from django.db import connections

    connections.close_all()  # never share a socket across fork
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_process_main,
                         args=(member_ids, threads, seconds, seed + 100 * i, queue))
             for i in range(processes)]
    for proc in procs:
        proc.start()
    totals = {"posted": 0, "refused": 0}
    for _ in procs:
        result = queue.get()
        totals["posted"] += result["posted"]
        totals["refused"] += result["refused"]
    for proc in procs:
        proc.join()
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL", ""),
                        help="postgres:// URL of the server (default: $DATABASE_URL)")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--orm-path", action="store_true",
                        help="post through the ORM path only (PostgreSQL's one-statement "
                             "posting off), to compare both under the same conditions")
    args = parser.parse_args()
    if not args.postgres.startswith("postgres"):
        sys.exit("give a PostgreSQL URL: --postgres postgres://... or DATABASE_URL")

    name = f"partage_ledger_bench_{os.getpid()}"
    server = args.postgres
    bench_url = with_database(server, name)
    log(f"creating database {name}")
    admin_sql(server, f'CREATE DATABASE "{name}"')
    try:
        pgbench_tps = run_pgbench(bench_url, args.clients, 2, args.seconds)
        log(f"pgbench: {pgbench_tps:.1f} tps")

        django_setup(bench_url)
        from django.core.management import call_command

        from ledger.audit import ledger_audit
        from members.models import Member

        if args.orm_path:
            import ledger.services

            ledger.services._fast_path_available = lambda: False
        log("migrate ...")
        call_command("migrate", verbosity=0)
        members = [Member.objects.create_user(email=f"bench-{i}@example.com", password=None,
                                              display_name=f"Bench {i}")
                   for i in range(args.members)]
        member_ids = [m.pk for m in members]

        log(f"ledger: 1 process x {args.clients} threads, {args.seconds} s ...")
        threaded = run_threads(member_ids, args.clients, args.seconds, args.seed)
        threaded_tps = threaded["posted"] / args.seconds
        log(f"  {threaded_tps:.1f} transfers/s ({threaded})")

        per_process = max(1, args.clients // 2)
        log(f"ledger: 2 processes x {per_process} threads, {args.seconds} s ...")
        forked = run_processes(member_ids, 2, per_process, args.seconds, args.seed + 1000)
        forked_tps = forked["posted"] / args.seconds
        log(f"  {forked_tps:.1f} transfers/s ({forked})")

        report = ledger_audit()
        ledger_tps = max(threaded_tps, forked_tps)
        print(json.dumps({
            "pgbench_tps": round(pgbench_tps, 1),
            "ledger_tps": round(ledger_tps, 1),
            "ratio": round(ledger_tps / pgbench_tps, 3) if pgbench_tps else None,
            "ledger_tps_1proc_threads": round(threaded_tps, 1),
            "ledger_tps_2proc_threads": round(forked_tps, 1),
            "refused_per_s_1proc": round(threaded["refused"] / args.seconds, 1),
            "refused_per_s_2proc": round(forked["refused"] / args.seconds, 1),
            "clients": args.clients,
            "seconds": args.seconds,
            "members": args.members,
            "posting_path": "orm" if args.orm_path else "default",
            "transfers": report.transfers,
            "audit_clean": report.clean,
            "audit_violations": report.violations[:5],
            "cpus": os.cpu_count(),
        }))
    finally:
        from django.db import connections

        with contextlib.suppress(Exception):  # Django may not be set up yet
            connections.close_all()
        if not args.keep:
            admin_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            log(f"dropped database {name}")


if __name__ == "__main__":
    main()
