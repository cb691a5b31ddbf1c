"""The dashboard's sign-in, session cookie, CSRF checks, roles and security headers, over HTTP."""

from __future__ import annotations

import warnings

from canvasbridge.engine.dashboard import CONTENT_SECURITY_POLICY
from canvasbridge.engine.ledger import CallState
from tests.engine.api import seeding
from tests.engine.api.conftest import Api
from tests.engine.dashboard.conftest import OPERATE_TOKEN, READ_TOKEN, csrf_of, sign_in

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_every_page_sends_a_stranger_to_the_sign_in_form_and_back(api: Api) -> None:
    for path, back in (
        ("/", "/"),
        ("/ui/calls?state=dead", "/ui/calls?state=dead"),
        ("/ui/parked/1", "/ui/parked/1"),
    ):
        response = api.client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/ui/login?next=" + back.split("?")[0]), path
    signed = sign_in(api.client, OPERATE_TOKEN, "/ui/calls?state=dead")
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/calls?state=dead"


def test_sign_in_sets_an_httponly_samesite_strict_session_cookie(api: Api) -> None:
    response = sign_in(api.client, OPERATE_TOKEN)
    assert response.status_code == 303
    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("cb_session=")
    )
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
    assert "secure" not in flags  # plain http here; see the https test
    assert OPERATE_TOKEN not in cookie  # the cookie holds a signature, not the token
    overview = api.client.get("/")
    assert overview.status_code == 200 and "oncall (operate)" in overview.text


def test_the_session_cookie_is_secure_over_https(tmp_path, postgres_url) -> None:  # type: ignore[no-untyped-def]
    from tests.engine.api.conftest import build_api

    built = build_api(tmp_path, postgres_url)
    client = TestClient(built.client.app, base_url="https://testserver")
    response = sign_in(client, READ_TOKEN)
    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("cb_session=")
    )
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]
    built.runtime.ledger().close()


def test_no_token_ever_travels_in_a_url(api: Api) -> None:
    # a token offered in the query string is ignored: no session comes of it
    by_query = api.client.get(
        "/ui/login", params={"token": OPERATE_TOKEN, "next": "/"}, follow_redirects=False
    )
    assert by_query.status_code == 200 and "cb_session" not in by_query.headers.get("set-cookie", "")
    assert api.client.get("/", params={"token": OPERATE_TOKEN}, follow_redirects=False).status_code == 303
    # the sign-in form posts its body (method post, no token in its action), and no page echoes the token
    form = api.client.get("/ui/login").text
    assert 'method="post" action="/ui/login"' in form and 'type="password"' in form
    response = sign_in(api.client, OPERATE_TOKEN)
    assert OPERATE_TOKEN not in response.headers["location"]
    dead = seeding.dead(api.runtime.ledger(), "record", key="x")
    for path in ("/", f"/ui/calls/{dead}", "/ui/calls?state=dead", "/ui/parked"):
        page = api.client.get(path)
        assert page.status_code == 200 and OPERATE_TOKEN not in page.text, path
        assert OPERATE_TOKEN not in str(page.url), path


def test_a_wrong_token_or_a_form_without_its_csrf_value_signs_nobody_in(api: Api) -> None:
    wrong = sign_in(api.client, "not-a-token-not-a-token")
    assert wrong.status_code == 401 and "not one of admin.tokens" in wrong.text
    assert "cb_session" not in wrong.headers.get("set-cookie", "")
    forged = TestClient(api.client.app).post(
        "/ui/login", data={"token": OPERATE_TOKEN, "csrf": "guess", "next": "/"}, follow_redirects=False
    )
    assert forged.status_code == 403 and "cb_session" not in forged.headers.get("set-cookie", "")


def test_a_tampered_session_cookie_is_no_session(api: Api) -> None:
    sign_in(api.client, READ_TOKEN)
    value = api.client.cookies["cb_session"]
    payload, mac = value.rsplit(".", 1)
    api.client.cookies.set("cb_session", payload + "." + ("0" if mac[0] != "0" else "1") + mac[1:])
    assert api.client.get("/", follow_redirects=False).status_code == 303


def test_a_change_without_the_csrf_token_is_refused_and_changes_nothing(api: Api) -> None:
    ledger = api.runtime.ledger()
    dead = seeding.dead(ledger, "record", key="y", effects_dir="x")
    sign_in(api.client, OPERATE_TOKEN)
    page = api.client.get(f"/ui/calls/{dead}")
    token = csrf_of(page.text)
    path = f"/ui/calls/{dead}/requeue"
    assert api.client.post(path, follow_redirects=False).status_code == 403
    assert api.client.post(path, data={"csrf": "0" * 64}, follow_redirects=False).status_code == 403
    cross = api.client.post(
        path, data={"csrf": token}, headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False
    )
    assert cross.status_code == 403
    assert ledger.get(dead).state is CallState.DEAD  # type: ignore[union-attr]
    done = api.client.post(path, data={"csrf": token}, follow_redirects=False)
    assert done.status_code == 303
    assert ledger.get(dead).state is CallState.REQUEUED  # type: ignore[union-attr]


def test_a_read_only_session_sees_no_buttons_and_gets_403_when_it_posts(api: Api) -> None:
    ledger = api.runtime.ledger()
    dead = seeding.dead(ledger, "record", key="z")
    parked = ledger.park(seeding.message(routing_key="nowhere"), reason="no route matched")
    sign_in(api.client, READ_TOKEN)
    page = api.client.get(f"/ui/calls/{dead}")
    assert page.status_code == 200 and "Requeue" not in page.text and "Discard" not in page.text
    assert "Requeue" not in api.client.get("/ui/calls?state=dead").text
    token = csrf_of(page.text)  # the sign-out form's: a valid token of this session
    for path in (f"/ui/calls/{dead}/requeue", f"/ui/calls/{dead}/discard", f"/ui/parked/{parked}/requeue"):
        refused = api.client.post(path, data={"csrf": token}, follow_redirects=False)
        assert refused.status_code == 403 and "role read" in refused.text, path
    assert ledger.get(dead).state is CallState.DEAD  # type: ignore[union-attr]
    assert [p.id for p in ledger.parked()] == [parked]


def test_pages_and_the_api_carry_a_strict_content_security_policy(api: Api) -> None:
    assert (
        "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "default-src 'none'" in CONTENT_SECURITY_POLICY
    )
    sign_in(api.client, OPERATE_TOKEN)
    for path in ("/ui/login", "/", "/ui/static/dashboard.css", "/health/live"):
        response = api.client.get(path)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["x-content-type-options"] == "nosniff", path
    assert api.client.get("/").headers["cache-control"] == "no-store"
    html = api.client.get("/").text
    assert "<script" not in html and "style=" not in html  # nothing the policy would block


def test_the_session_cookie_does_not_open_the_json_api(api: Api) -> None:
    sign_in(api.client, OPERATE_TOKEN)
    assert api.client.get("/tasks").status_code == 401
    dead = seeding.dead(api.runtime.ledger(), "record", key="w")
    assert api.client.post(f"/tasks/{dead}/requeue").status_code == 401


def test_sign_out_needs_the_csrf_token_and_ends_the_session(api: Api) -> None:
    sign_in(api.client, READ_TOKEN)
    token = csrf_of(api.client.get("/").text)
    assert api.client.post("/ui/logout", follow_redirects=False).status_code == 403
    out = api.client.post("/ui/logout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"].startswith("/ui/login")
    assert api.client.get("/", follow_redirects=False).status_code == 303
