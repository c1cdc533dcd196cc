"""deploy/serve.py without the services: it refuses to start without PostgreSQL and
Redis, and the nginx configuration it renders is valid for nginx itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVE = ROOT / "deploy" / "serve.py"


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return subprocess.run([sys.executable, str(SERVE), *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


def test_it_refuses_without_database_and_redis():
    result = _run([])
    assert result.returncode == 2
    assert "DATABASE_URL and REDIS_URL not set" in result.stderr
    assert "make run" in result.stderr


def test_it_refuses_without_redis():
    result = _run([], DATABASE_URL="postgres://postgres@127.0.0.1:5432/partage")
    assert result.returncode == 2
    assert "REDIS_URL not set" in result.stderr


def test_the_rendered_nginx_configuration_is_valid(tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if nginx is None:
        pytest.skip("needs nginx")
    run_dir = tmp_path / "run"
    result = _run(["--print-nginx", "--run-dir", str(run_dir), "--port", "18123"],
                  REQUEST_MAX_BYTES="12582912")
    assert result.returncode == 0, result.stderr
    conf = (run_dir / "nginx.conf").read_text()
    locations = (run_dir / "partage-locations.conf").read_text()
    assert "client_max_body_size 12582912;" in conf
    assert "least_conn;" in conf
    assert conf.count("server 127.0.0.1:") == 3  # one HTTP upstream, two websocket workers
    assert "proxy_set_header Upgrade $http_upgrade;" in locations
    assert "proxy_read_timeout 1h;" in locations
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in locations
    check = subprocess.run(
        [nginx, "-t", "-c", str(run_dir / "nginx.conf"), "-p", str(run_dir),
         "-e", str(run_dir / "nginx-error.log")],
        capture_output=True, text=True, timeout=30,
    )
    assert check.returncode == 0, check.stderr
