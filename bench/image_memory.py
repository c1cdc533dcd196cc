#!/usr/bin/env python
"""What one photo upload costs a production HTTP worker, in resident memory.

    .venv/bin/python bench/image_memory.py \
        --database-url postgres://postgres@127.0.0.1:5432/partage_bench [--old ROOT]

For each checkout (this one, and --old: another tree, e.g. `git worktree add /tmp/old
main`, measured by the same script in the same run), a gunicorn worker is started the
way deploy/serve.py starts it (sync worker, `config.wsgi`, DEBUG off, PostgreSQL and
Redis), fresh for each scenario, and worst-case images are POSTed to a listing's photos
page with a signed-in member's session:

  png_40mp_issue  the issue's PNG: 6324 x 6324 pixels, RGB, ~150 KB
  jpeg_24mp       6000 x 4000, a phone's main camera
  png_24mp_rgba   6000 x 4000 with transparency (a PNG cannot be decoded smaller)
  webp_9mp        3600 x 2500, just under the WebP cap of the new code
  webp_24mp       6000 x 4000 in WebP (refused by the new code: libwebp cannot decode
                  smaller and costs four times a PNG's memory)
  parallel_4_sync     four 24 MP JPEGs at once, one sync worker (production)
  parallel_4_gthread  the same on one gthread worker with 4 threads, where the
                      images of one process really run at once

For each scenario one JSON line: the worker's RSS before (after small uploads, as many at
once as the scenario makes, to warm it up), its peak while the upload(s) ran (sampled every 10 ms), and 1 s after the
last answer; growth = peak - before, kept = after - before; the seconds and what each
upload got (302 stored, or the refusal's message). Progress goes to stderr.

The database is migrated; a member and enough listings for the uploads are made
(through the test factories) and a session is created for the member directly, so no
log-in (nor its rate limit) is involved. Use a dedicated database.
"""

from __future__ import annotations

import sys
from pathlib import Path

# ruff: noqa: E402
# bench/http.py would hide the standard library's `http` package: run as a script,
# this folder comes first on sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import io
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection

ROOT = Path(__file__).resolve().parent.parent

FIXTURES = """
import json
import uuid
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from tests.factories import ListingFactory, MemberFactory
member = MemberFactory(email=f"image-bench-{uuid.uuid4().hex}@example.org")
listings = [ListingFactory(owner=member).pk for _n in range(COUNT)]
session = import_module(settings.SESSION_ENGINE).SessionStore()
session[SESSION_KEY] = str(member.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = member.get_session_auth_hash()
session.create()
print("FIXTURES " + json.dumps({"session": session.session_key, "listings": listings}))
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- images ----------------------------------------------------------------------------


def make_images() -> dict[str, tuple[str, bytes]]:
    """Worst cases that fit under the 10 MB upload limit: smooth pictures compress."""
    from PIL import Image, ImageDraw

    def encode(image: Image.Image, fmt: str, **options) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **options)
        return buffer.getvalue()

    def picture(size: tuple[int, int]) -> Image.Image:
        flat = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
        round_ = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR)
        return Image.merge("RGB", (flat, round_, flat.transpose(Image.Transpose.ROTATE_180)))

    issue = Image.new("RGB", (6324, 6324), (250, 250, 245))
    draw = ImageDraw.Draw(issue)
    for step in range(0, 6324, 97):
        draw.line((0, step, 6324, step), fill=(20, 60, 200), width=2)
        draw.line((step, 0, step, 6324), fill=(200, 30, 30), width=1)
    photo = picture((6000, 4000))
    transparent = photo.copy()
    transparent.putalpha(Image.linear_gradient("L").resize((6000, 4000)))
    return {
        "png_40mp_issue": ("image/png", encode(issue, "PNG", optimize=True)),
        "jpeg_24mp": ("image/jpeg", encode(photo, "JPEG", quality=90)),
        "png_24mp_rgba": ("image/png", encode(transparent, "PNG", compress_level=9)),
        "webp_9mp": ("image/webp", encode(photo.resize((3600, 2500)), "WEBP", quality=80)),
        "webp_24mp": ("image/webp", encode(photo, "WEBP", quality=80)),
        "small": ("image/jpeg", encode(picture((800, 600)), "JPEG")),
    }


# --- the server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.extend(int(c) for c in (task / "children").read_text().split())
    return found


class Worker:
    """One gunicorn master with one worker, as deploy/serve.py starts the HTTP side."""

    def __init__(self, root: Path, env: dict, threads: int, log_path: Path) -> None:
        self.port = free_port()
        command = [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--worker-class", "sync" if threads == 1 else "gthread",
            "--workers", "1", "--threads", str(threads),
            "--bind", f"127.0.0.1:{self.port}", "--timeout", "120",
        ]
        with open(log_path, "ab") as out:
            self.master = subprocess.Popen(command, cwd=root, env=env, stdout=out,
                                           stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.master.poll() is not None:
                raise SystemExit(f"gunicorn exited: see {log_path}")
            try:
                conn = HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz/live")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"gunicorn did not answer: see {log_path}")
        self.pid = children(self.master.pid)[0]

    def stop(self) -> None:
        os.killpg(self.master.pid, signal.SIGTERM)
        try:
            self.master.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.master.pid, signal.SIGKILL)
            self.master.wait()


class Peak:
    """The worker's highest RSS while the block runs, sampled every 10 ms."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.01)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb(self.pid))


def upload(port: int, session: str, listing: int, name: str, content_type: str,
           data: bytes) -> str:
    """POST one photo through the page; '302' when stored, else the field's error."""
    path = f"/listings/{listing}/photos/"
    cookie = f"sessionid={session}"
    conn = HTTPConnection("127.0.0.1", port, timeout=180)
    conn.request("GET", path, headers={"Cookie": cookie})
    response = conn.getresponse()
    page = response.read().decode()
    if response.status != 200:
        return f"GET {response.status}"
    csrf = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    cookie += f"; csrftoken={csrf.group(1)}" if csrf else ""
    boundary = uuid.uuid4().hex
    body = b"".join([
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrfmiddlewaretoken\"\r\n\r\n"
        f"{token}\r\n".encode(),
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
        f"filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n".encode(),
        data, f"\r\n--{boundary}--\r\n".encode(),
    ])
    conn.request("POST", path, body=body, headers={
        "Cookie": cookie, "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Referer": f"http://127.0.0.1:{port}{path}", "Origin": f"http://127.0.0.1:{port}",
    })
    response = conn.getresponse()
    answer = response.read().decode(errors="replace")
    if response.status == 302:
        return "302"
    error = re.search(r'class="errorlist[^"]*"[^>]*>\s*<li>(.*?)</li>', answer, re.S)
    return f"{response.status} {error.group(1).strip() if error else answer[:120]}"


# --- the run ---------------------------------------------------------------------------


SCENARIOS = [
    # (name, images uploaded at once, gunicorn threads)
    ("png_40mp_issue", ["png_40mp_issue"], 1),
    ("jpeg_24mp", ["jpeg_24mp"], 1),
    ("png_24mp_rgba", ["png_24mp_rgba"], 1),
    ("webp_9mp", ["webp_9mp"], 1),
    ("webp_24mp", ["webp_24mp"], 1),
    ("parallel_4_sync", ["jpeg_24mp"] * 4, 1),
    ("parallel_4_gthread", ["jpeg_24mp"] * 4, 4),
]


def create_database(url: str) -> None:
    import urllib.parse

    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare(root: Path, env: dict, count: int) -> dict:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                   cwd=root, env=env, check=True)
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", FIXTURES.replace("COUNT", str(count))],
        cwd=root, env=env, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out.split("FIXTURES ", 1)[1])


def measure(label: str, root: Path, env: dict, files: dict, run_dir: Path,
            only: set[str] | None) -> None:
    scenarios = [s for s in SCENARIOS if not only or s[0] in only]
    fixtures = prepare(root, env, sum(2 * len(s[1]) for s in scenarios))
    listings, session = iter(fixtures["listings"]), fixtures["session"]
    for name, images, threads in scenarios:
        worker = Worker(root, env, threads, run_dir / f"{label}-{name}.log")
        try:
            # Warm every thread that will serve (imports, its database connection).
            warm = [next(listings) for _image in images]
            port = worker.port
            with ThreadPoolExecutor(len(images)) as pool:
                list(pool.map(lambda pk, port=port: upload(
                    port, session, pk, "small.jpg", *files["small"]), warm))
            time.sleep(0.5)
            before = rss_mb(worker.pid)
            targets = [next(listings) for _image in images]
            started = time.monotonic()
            with Peak(worker.pid) as peak, ThreadPoolExecutor(len(images)) as pool:
                results = list(pool.map(
                    lambda pair, port=port: upload(port, session, pair[1],
                                                   f"{pair[0]}.bin", *files[pair[0]]),
                    zip(images, targets, strict=True),
                ))
            seconds = time.monotonic() - started
            time.sleep(1)
            after = rss_mb(worker.pid)
        finally:
            worker.stop()
        print(json.dumps({
            "code": label, "scenario": name, "uploads": len(images),
            "worker": "sync" if threads == 1 else f"gthread x{threads}",
            "file_kb": round(len(files[images[0]][1]) / 1024),
            "rss_before_mb": round(before), "rss_peak_mb": round(peak.peak),
            "rss_after_mb": round(after), "growth_mb": round(peak.peak - before),
            "kept_mb": round(after - before), "seconds": round(seconds, 2),
            "results": results,
        }, ensure_ascii=False), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--redis-url",
                        default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--old", help="another checkout to measure beside this one")
    parser.add_argument("--only", help="comma-separated scenario names")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("--database-url (or DATABASE_URL): a PostgreSQL database")
    run_dir = Path(tempfile.mkdtemp(prefix="partage-image-bench-"))
    media = run_dir / "media"
    env = dict(os.environ, DATABASE_URL=args.database_url, REDIS_URL=args.redis_url,
               DEBUG="false", STATIC_MANIFEST="false", SECURE_COOKIES="false",
               MEDIA_ROOT=str(media), DJANGO_SETTINGS_MODULE="config.settings",
               PGAPPNAME="partage-image-bench")
    env.setdefault("SECRET_KEY", "image-bench-" + uuid.uuid4().hex)
    create_database(args.database_url)
    log("making the images...")
    files = make_images()
    log(", ".join(f"{k}: {len(v[1]) // 1024} KB" for k, v in files.items()))
    only = set(args.only.split(",")) if args.only else None
    roots = [("new", ROOT)] + ([("old", Path(args.old).resolve())] if args.old else [])
    for label, root in roots:
        log(f"measuring {label}: {root}")
        measure(label, root, env, files, run_dir, only)
    log(f"logs and stored media: {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
