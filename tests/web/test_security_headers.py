"""The security headers: on every page answer (errors and redirects included), not on the JSON API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from vigichem.web import STATIC_DIR
from vigichem.web.security import CONTENT_SECURITY_POLICY

PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


def test_pages_errors_and_redirects_carry_the_headers(app: FastAPI) -> None:
    client = TestClient(app, follow_redirects=False)
    answers = {
        "login page": client.get("/ui/login"),
        "redirect to the login": client.get("/ui/alerts"),
        "page not found": client.get("/ui/no-such-page"),
        "root": client.get("/"),
    }
    assert answers["login page"].status_code == 200
    assert answers["redirect to the login"].status_code == 303
    assert answers["page not found"].status_code == 404
    for what, answer in answers.items():
        for name, value in PAGE_HEADERS.items():
            assert answer.headers.get(name) == value, (what, name)
        assert len(answer.headers.get_list("content-security-policy")) == 1, what


def test_static_assets_are_not_sniffed_and_stay_cacheable(app: FastAPI) -> None:
    asset = Path(STATIC_DIR) / "app.css"
    answer = TestClient(app).get(f"/static/{asset.relative_to(STATIC_DIR).as_posix()}")
    assert answer.status_code == 200
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in answer.headers.get("cache-control", "")


def test_the_json_api_is_left_alone(app: FastAPI) -> None:
    answer = TestClient(app).get("/health")
    assert answer.status_code == 200
    assert "content-security-policy" not in answer.headers and "x-frame-options" not in answer.headers
