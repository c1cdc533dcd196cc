from django.contrib.staticfiles import finders


def test_the_manifest_makes_the_app_installable(client, db):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["start_url"] == "/"
    assert manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert finders.find(icon["src"].removeprefix("/static/")), icon["src"]


def test_the_service_worker_is_served_from_the_root_and_caches_the_offline_page(client, db):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    body = response.content.decode()
    assert '"/offline/"' in body
    assert "caches.match(\"/offline/\")" in body


def test_the_offline_page_renders(client, db):
    response = client.get("/offline/")
    assert response.status_code == 200
    assert "offline" in response.content.decode().lower()


def test_pages_link_the_manifest(client, db):
    body = client.get("/offline/").content.decode()
    assert 'rel="manifest"' in body
    assert 'name="viewport"' in body


def test_an_unknown_page_gets_the_friendly_404(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


def test_the_500_page_renders_without_the_database():
    from core.views import server_error

    response = server_error(None)
    assert response.status_code == 500
    assert b"Something went wrong" in response.content


def test_french_is_served_when_asked(client, db):
    response = client.get("/offline/", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert '<html lang="fr">' in response.content.decode()
