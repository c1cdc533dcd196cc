from unittest import mock

import pytest
from channels.layers import channel_layers
from django.db import OperationalError


@pytest.fixture
def reset_channel_layers():
    """Channels caches layer instances; drop them so a changed setting takes effect."""
    channel_layers.backends = {}
    yield
    channel_layers.backends = {}


def test_it_reports_ok_when_everything_answers(client, db, reset_channel_layers):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "channel_layer": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_names_the_database_when_it_is_unreachable(client, db, reset_channel_layers):
    with mock.patch(
        "core.health.connection.cursor", side_effect=OperationalError("connection refused")
    ):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "unreachable", "channel_layer": "ok"}


def test_it_names_the_channel_layer_when_redis_is_unreachable(
    client, db, settings, reset_channel_layers
):
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "channel_layer": "unreachable"}


def test_it_refuses_post(client, db):
    assert client.post("/healthz").status_code == 405


def test_liveness_answers_without_the_database_or_the_channel_layer(client):
    # No `db` fixture: any database access here would fail the test.
    with mock.patch("core.health.health_report", side_effect=AssertionError("no probes")):
        response = client.get("/healthz/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_the_database_probe_keeps_one_connection_across_probes(client, db, reset_channel_layers):
    from core.health import connection

    client.get("/healthz")
    first = connection._wrapper.connection
    client.get("/healthz")
    assert connection._wrapper.connection is first
