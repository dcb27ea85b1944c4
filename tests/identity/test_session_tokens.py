"""Session tokens and the shared authentication: every way a token can be wrong is a 401."""

from __future__ import annotations

import datetime as dt
import json

import jwt
import pytest
from sqlalchemy import select, update

from oss_tldr.api.auth import Principal, authenticate, require_admin
from oss_tldr.db.models import UserSession
from oss_tldr.errors import Forbidden, Unauthorized
from oss_tldr.identity.keys import LOCAL_JWT_KEYS_FILE, jwt_key_ring
from oss_tldr.identity.sessions import ALGORITHM, AUDIENCE, ISSUER
from oss_tldr.settings import get_settings


def _claims(user, **changes):
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": str(user.id), "sid": user.session_id}
    claims.update({"iat": now, "exp": now + 3600})
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(claims, key=None, kid=None, alg=ALGORITHM):
    ring = jwt_key_ring(get_settings())
    return jwt.encode(claims, key or ring.active_key, algorithm=alg, headers={"kid": kid or ring.active})


def _bearer(token):
    return f"Bearer {token}"


def test_valid_session_token_authenticates_the_user(make_user):
    user = make_user(id=7, login="Octocat")
    principal = authenticate(_bearer(user.token))
    assert principal == Principal(user_id=7, login="Octocat", session_id=user.session_id, is_admin=False)


def test_admin_flag_follows_admin_logins_case_insensitively(make_user, settings_env):
    settings_env(ADMIN_LOGINS="someone,OCTOCAT")
    user = make_user(login="octocat")
    principal = authenticate(_bearer(user.token))
    assert principal.is_admin
    require_admin(principal)


def test_non_admin_is_forbidden_on_admin_routes(make_user):
    principal = authenticate(make_user().headers["authorization"])
    with pytest.raises(Forbidden):
        require_admin(principal)


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer a b", "Bearer " + "x" * 5000],
)
def test_missing_or_malformed_authorization_is_401(engine, header):
    with pytest.raises(Unauthorized):
        authenticate(header)


def test_alg_none_token_is_401(make_user):
    user = make_user()
    token = jwt.encode(_claims(user), key=None, algorithm="none", headers={"kid": "local-1"})
    with pytest.raises(Unauthorized):
        authenticate(_bearer(token))


def test_token_signed_with_another_key_is_401(make_user):
    user = make_user()
    with pytest.raises(Unauthorized):
        authenticate(_bearer(_sign(_claims(user), key=b"fake-attacker-key-" * 4)))


def test_token_with_unknown_kid_is_401(make_user):
    user = make_user()
    with pytest.raises(Unauthorized):
        authenticate(_bearer(_sign(_claims(user), kid="nope")))


def test_tampered_payload_is_401(make_user):
    alice, bob = make_user(id=1, login="alice"), make_user(id=2, login="bob")
    header, _payload, signature = alice.token.split(".")
    forged = jwt.utils.base64url_encode(json.dumps(_claims(bob)).encode()).decode()
    with pytest.raises(Unauthorized):
        authenticate(_bearer(f"{header}.{forged}.{signature}"))


def test_hs512_token_is_401_because_the_algorithm_is_pinned(make_user):
    user = make_user()
    with pytest.raises(Unauthorized):
        authenticate(_bearer(_sign(_claims(user), alg="HS512")))


@pytest.mark.parametrize(
    "change",
    [{"aud": "someone-else"}, {"iss": "evil"}, {"aud": None}, {"sid": None}, {"exp": None}, {"sub": "abc"}],
    ids=["wrong-audience", "wrong-issuer", "no-audience", "no-sid", "no-exp", "bad-sub"],
)
def test_wrong_or_missing_claims_are_401(make_user, change):
    user = make_user()
    with pytest.raises(Unauthorized):
        authenticate(_bearer(_sign(_claims(user, **change))))


def test_expired_token_is_401(make_user):
    user = make_user()
    past = int((dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).timestamp())
    with pytest.raises(Unauthorized) as err:
        authenticate(_bearer(_sign(_claims(user, iat=past - 10, exp=past))))
    assert err.value.code == "session_expired"


def test_session_expired_in_the_database_is_401(make_user, db):
    user = make_user()
    db.execute(
        update(UserSession)
        .where(UserSession.id == user.session_id)
        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    )
    db.commit()
    with pytest.raises(Unauthorized):
        authenticate(user.headers["authorization"])


def test_revoked_session_is_401(make_user, db):
    user = make_user()
    db.execute(
        update(UserSession)
        .where(UserSession.id == user.session_id)
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )
    db.commit()
    with pytest.raises(Unauthorized) as err:
        authenticate(user.headers["authorization"])
    assert err.value.code == "session_revoked"


def test_sid_of_another_user_is_401(make_user):
    alice, bob = make_user(id=1, login="alice"), make_user(id=2, login="bob")
    with pytest.raises(Unauthorized):
        authenticate(_bearer(_sign(_claims(alice, sid=bob.session_id))))


def test_session_ttl_is_24_hours_by_default(make_user, db):
    user = make_user()
    row = db.scalar(select(UserSession).where(UserSession.id == user.session_id))
    assert dt.timedelta(hours=23, minutes=59) < row.expires_at - row.created_at <= dt.timedelta(hours=24)
    claims = jwt.decode(user.token, options={"verify_signature": False})
    assert claims["exp"] == int(row.expires_at.timestamp())


def test_rotating_keys_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(make_user):
    old = make_user(id=1, login="alice")
    path = get_settings().local_state_dir / LOCAL_JWT_KEYS_FILE
    original = path.read_text()
    ring = json.loads(original)
    ring["keys"]["local-2"] = "fake-rotated-key-" + "k" * 32
    ring["active"] = "local-2"
    path.write_text(json.dumps(ring))
    try:
        assert authenticate(old.headers["authorization"]).user_id == 1
        new = make_user(id=2, login="bob")
        assert jwt.get_unverified_header(new.token)["kid"] == "local-2"
        assert authenticate(new.headers["authorization"]).user_id == 2
        # Retiring the old key ends the sessions it signed.
        del ring["keys"]["local-1"]
        path.write_text(json.dumps(ring))
        with pytest.raises(Unauthorized):
            authenticate(old.headers["authorization"])
    finally:
        path.write_text(original)


def test_signing_keys_come_from_secrets_manager_when_configured(engine, settings_env):
    import boto3
    from moto import mock_aws

    from oss_tldr.identity.sessions import decode_session_token, sign_session_token

    with mock_aws():
        sm = boto3.client("secretsmanager", region_name="us-east-1")
        ring = {"active": "k2", "k1": "fake-old-key-" + "a" * 40, "k2": "fake-new-key-" + "b" * 40}
        arn = sm.create_secret(Name="fake-jwt-keys", SecretString=json.dumps(ring))["ARN"]
        settings_env(JWT_SECRET_ARN=arn)
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        token = sign_session_token(7, "fake-sid", expires)
        assert jwt.get_unverified_header(token)["kid"] == "k2"
        assert decode_session_token(token).user_id == 7
        old = jwt.encode(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": "7",
                "sid": "s",
                "iat": 1,
                "exp": int(expires.timestamp()),
            },
            ring["k1"],
            algorithm=ALGORITHM,
            headers={"kid": "k1"},
        )
        assert decode_session_token(old).session_id == "s"  # an older key still verifies


def test_record_audit_writes_actor_action_target_and_time(make_user, db):
    from oss_tldr.db.engine import session_scope
    from oss_tldr.db.models import AuditLog
    from oss_tldr.identity.audit import record_audit

    make_user(id=4, login="admin")
    with session_scope() as session:
        record_audit(
            session,
            actor_user_id=4,
            action="admin.report_invalidated",
            target_type="report",
            target_id=12,
            details={"repo": "octo/hello"},
        )
    row = db.scalar(select(AuditLog))
    assert (row.actor_user_id, row.action, row.target_type, row.target_id) == (
        4,
        "admin.report_invalidated",
        "report",
        "12",
    )
    assert row.details == {"repo": "octo/hello"} and row.created_at is not None


def test_current_principal_authenticates_once_per_request_and_require_session_guards_routes(make_user):
    from oss_tldr.api import create_app
    from oss_tldr.api.auth import current_principal, require_session
    from tools.lambda_local import FakeLambdaContext, http_event

    app = create_app()

    @app.get("/private", middlewares=[require_session])
    def private():
        return {"login": current_principal(app).login}

    user = make_user(login="dora")
    ok = app.resolve(http_event("GET", "/private", headers=user.headers), FakeLambdaContext())
    assert (ok["statusCode"], json.loads(ok["body"])) == (200, {"login": "dora"})
    denied = app.resolve(http_event("GET", "/private"), FakeLambdaContext())
    assert denied["statusCode"] == 401 and set(json.loads(denied["body"])) == {"detail", "code"}
