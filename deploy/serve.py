"""The production topology on one machine, in the foreground (`make serve`).

    nginx on PORT ── /static/  files from collectstatic
                  ├─ /ws/      2 daphne workers (websockets), least connections
                  └─ /         gunicorn, N sync processes (WSGI)

Against DATABASE_URL (PostgreSQL) and REDIS_URL, both required: the in-memory channel
layer cannot carry a message from a socket held by one websocket worker to a socket
held by the other. It migrates, collects the static files, renders nginx's
configuration into a run folder (deploy/*.template) and starts every process as its
child; Ctrl+C (SIGINT) or SIGTERM stops them all, and so does any one of them exiting.
Workers listen on loopback only: nginx is the only way in.

`--state-file` writes the ports and process ids as JSON once everything answers
(tests/deploy and bench/http.py use it). `--print-nginx` prints the rendered
configuration and exits.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
LOOPBACK = "127.0.0.1"
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def render(template: Path, values: dict[str, str]) -> str:
    text = template.read_text()
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    if "{{" in text:
        raise SystemExit(f"{template.name}: a placeholder was left unfilled")
    return text


def _die_with_parent() -> None:
    # Linux: a child gets SIGTERM if this script dies without cleaning up (SIGKILL),
    # so no worker outlives the topology it belonged to.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Topology:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.run_dir = Path(args.run_dir or tempfile.mkdtemp(prefix="partage-serve-"))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.http_port = free_port()
        self.ws_ports = [free_port() for _n in range(args.ws_workers)]
        self.processes: dict[str, subprocess.Popen] = {}
        self.stopping = False

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        # Production defaults that a caller's environment may still override.
        env.setdefault("DEBUG", "false")
        env.setdefault("BEHIND_PROXY", "true")
        # Plain HTTP on loopback: a Secure cookie would never come back from a browser.
        env.setdefault("SECURE_COOKIES", "false")
        env.update(extra)
        return env

    def nginx_conf(self) -> Path:
        sys.path.insert(0, str(ROOT))
        os.environ.update({k: v for k, v in self.env().items() if k not in os.environ})
        from config import settings as project  # the values the workers will have

        values = {
            "user_line": (
                # Root: nginx's workers would switch to "nobody", who may not read the
                # checkout's static files nor write the run folder. Local runs only:
                # a real machine names an unprivileged user (docs/deploy.md).
                "user root;" if os.geteuid() == 0 else "# user: the one running serve.py"
            ),
            "worker_processes": str(self.args.nginx_workers),
            "run_dir": str(self.run_dir),
            "access_log": (
                f"{self.run_dir}/nginx-access.log" if self.args.access_log else "off"
            ),
            "client_max_body_size": str(project.REQUEST_MAX_BYTES),
            "listen": f"{self.args.host}:{self.args.port}",
            "http_servers": f"        server {LOOPBACK}:{self.http_port};",
            "ws_servers": "\n".join(
                f"        server {LOOPBACK}:{port};" for port in self.ws_ports
            ),
            "static_root": str(project.STATIC_ROOT),
            # Django's defaults unless the settings module names others.
            "session_cookie": getattr(project, "SESSION_COOKIE_NAME", "sessionid"),
            "language_cookie": getattr(project, "LANGUAGE_COOKIE_NAME", "django_language"),
        }
        (self.run_dir / "partage-locations.conf").write_text(
            render(DEPLOY / "partage-locations.conf.template", values)
        )
        conf = self.run_dir / "nginx.conf"
        conf.write_text(render(DEPLOY / "nginx.conf.template", values))
        for folder in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "cache"):
            (self.run_dir / folder).mkdir(exist_ok=True)
        return conf

    def setup(self) -> None:
        manage = [sys.executable, str(ROOT / "manage.py")]
        commands = [["collectstatic", "--noinput", "-v", "0"]]
        if self.args.migrate:
            commands.insert(0, ["migrate", "--noinput"])
        for command in commands:
            subprocess.run(manage + command, cwd=ROOT, env=self.env(), check=True)

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log = open(self.run_dir / f"{name}.log", "ab")  # noqa: SIM115 (the child keeps it)
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            # Own session: a Ctrl+C reaches this script only, which stops the children
            # in order instead of all of them at once mid-request.
            start_new_session=True, preexec_fn=_die_with_parent,
        )
        log.close()

    def start_all(self, conf: Path) -> None:
        args = self.args
        self.start("http", [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            # Sync workers by measurement (docs/performance.md): threads only added GIL
            # contention to these CPU-bound views. nginx buffers requests and responses,
            # so a slow client never holds a sync worker.
            "--worker-class", "sync" if args.http_threads == 1 else "gthread",
            "--workers", str(args.http_workers),
            "--threads", str(args.http_threads), "--bind", f"{LOOPBACK}:{self.http_port}",
            "--graceful-timeout", str(STOP_TIMEOUT_SECONDS), "--timeout", "60",
        ], self.env(
            # One pooled connection per thread that runs views: never a wait for one.
            DATABASE_POOL_MAX=os.environ.get("DATABASE_POOL_MAX", str(args.http_threads)),
            # Names the connections in pg_stat_activity: who holds how many.
            PGAPPNAME="partage-http",
        ))
        for index, port in enumerate(self.ws_ports):
            self.start(f"ws-{index}", [
                sys.executable, "-m", "daphne", "-b", LOOPBACK, "-p", str(port),
                # The client address in the socket's scope is the one nginx saw; daphne
                # listens on loopback only, so only nginx can set the header.
                "--proxy-headers",
                "--access-log", str(self.run_dir / f"ws-{index}.access.log"),
                "config.asgi:application",
            ], self.env(PGAPPNAME=f"partage-ws-{index}"))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.start("nginx", [
            nginx, "-c", str(conf), "-p", str(self.run_dir),
            "-e", str(self.run_dir / "nginx-error.log"),
        ], self.env())

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        ports = [self.http_port, *self.ws_ports]
        url = f"http://{LOOPBACK}:{self.args.port}/healthz/live"
        while time.monotonic() < deadline and not self.stopping:
            self.check_alive()
            if all(_answers(port) for port in ports) and _http_ok(url):
                return
            time.sleep(0.2)
        if not self.stopping:
            raise SystemExit(
                f"not ready after {START_TIMEOUT_SECONDS} s: see {self.run_dir}/*.log"
            )

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise SystemExit(
                    f"{name} exited with {process.returncode}: see {self.run_dir}/{name}.log"
                )

    def state(self) -> dict:
        return {
            "url": f"http://{LOOPBACK}:{self.args.port}/",
            "port": self.args.port,
            "http_port": self.http_port,
            "ws_ports": self.ws_ports,
            "pids": {name: process.pid for name, process in self.processes.items()},
            "run_dir": str(self.run_dir),
        }

    def stop(self) -> None:
        # nginx first (no new requests reach the workers), then the workers, which
        # finish what they are serving.
        order = ["nginx"] + [name for name in self.processes if name != "nginx"]
        for name in order:
            process = self.processes.get(name)
            if process and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGQUIT if name == "nginx" else signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # Its whole session: gunicorn's or nginx's own workers too.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5):
            return True
    except OSError:
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("HOST", LOOPBACK),
                        help="address nginx listens on (default %(default)s)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--http-workers", type=int,
                        default=int(os.environ.get("HTTP_WORKERS", str(cores))),
                        help="gunicorn processes (default: one per core)")
    parser.add_argument("--http-threads", type=int,
                        default=int(os.environ.get("HTTP_THREADS", "1")),
                        help="threads per gunicorn process (default %(default)s: sync "
                             "workers; more: gthread workers)")
    parser.add_argument("--ws-workers", type=int,
                        default=int(os.environ.get("WS_WORKERS", "2")),
                        help="daphne processes for websockets (default %(default)s)")
    parser.add_argument("--nginx-workers", type=int, default=1)
    parser.add_argument("--run-dir", help="folder for nginx's files and the logs")
    parser.add_argument("--state-file", help="write ports and pids here, as JSON, once ready")
    parser.add_argument("--no-setup", action="store_true",
                        help="skip migrate and collectstatic")
    parser.add_argument("--no-migrate", dest="migrate", action="store_false",
                        help="skip migrate only (a database migrated already)")
    parser.add_argument("--no-access-log", dest="access_log", action="store_false")
    parser.add_argument("--print-nginx", action="store_true",
                        help="print the rendered nginx.conf and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    if missing and not args.print_nginx:
        print(
            f"serve: {' and '.join(missing)} not set. The production topology needs "
            "PostgreSQL and Redis: two websocket workers share chat messages through "
            "Redis, and the in-memory channel layer lives in one process. For the "
            "one-process demo on SQLite, use `make run`.",
            file=sys.stderr,
        )
        return 2
    if args.ws_workers < 1 or args.http_workers < 1:
        print("serve: at least one HTTP worker and one websocket worker", file=sys.stderr)
        return 2
    topology = Topology(args)
    conf = topology.nginx_conf()
    if args.print_nginx:
        print(conf.read_text())
        print(f"# --- {topology.run_dir}/partage-locations.conf ---")
        print((topology.run_dir / "partage-locations.conf").read_text())
        return 0
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        print("serve: nginx is not installed (apt-get install nginx)", file=sys.stderr)
        return 2

    def on_signal(signum, frame) -> None:
        topology.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if not args.no_setup:
            topology.setup()
        topology.start_all(conf)
        topology.wait_ready()
        if args.state_file:
            Path(args.state_file).write_text(json.dumps(topology.state()))
        print(
            f"\n  Partage is serving on http://{args.host}:{args.port}/ "
            f"({args.http_workers} HTTP workers x {args.http_threads} threads, "
            f"{args.ws_workers} websocket workers)\n  Logs: {topology.run_dir}\n"
            "  Stop with Ctrl+C.\n", flush=True,
        )
        while not topology.stopping:
            topology.check_alive()
            time.sleep(0.2)
    except SystemExit as error:
        if error.code not in (None, 0):
            print(f"serve: {error.code}", file=sys.stderr)
        topology.stop()
        return 1
    topology.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
