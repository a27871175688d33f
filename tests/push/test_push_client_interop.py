"""Interop check of the Swift Web Push client (HelferrufPush) against an independent
implementation: tests/push/push_service.py verifies each request with PyPI's cryptography
(ES256 VAPID JWT) and http_ece (RFC 8291 decryption).

How it runs: the test starts push_service.py with three subscriptions (one accepts, one is
scripted 410, one 429 with Retry-After: 1 then 201), then runs the Swift test
HelferrufPushTests.PushInteropTests through `swift test --filter`, which is skipped unless
HELFERRUF_PUSH_INTEROP_* is set and here sends one alert per subscription with PushDelivery.
This needs no extra executable target: the Swift side is an ordinary (normally skipped) test.

Run from the repository root:
    pip install pytest cryptography http_ece
    python3 -m pytest tests/push
Set HELFERRUF_PUSH_SKIP_BUILD=1 to pass --skip-build to swift test (after
`swift build --build-tests`). Further checks of push_service.py itself need no Swift.
"""

import base64
import json
import os
import pathlib
import subprocess
import sys
import time
import urllib.error
import urllib.request

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PAYLOAD = {"type": "alert", "callId": "7c1d", "title": "Sandsäcke füllen an der Wurm", "orgName": "THW Aachen",
           "distanceKm": 3.2, "needed": 40, "confirmed": 0}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def push_service(tmp_path):
    log = tmp_path / "pushes.jsonl"
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"/push/2": "410", "/push/3": "429:1,201"}))
    process = subprocess.Popen(
        [sys.executable, str(HERE / "push_service.py"), "--subscriptions", "3", "--log", str(log),
         "--script-file", str(script)],
        stdout=subprocess.PIPE, text=True)
    try:
        ready = json.loads(process.stdout.readline())
        ready["log"] = log
        yield ready
    finally:
        process.terminate()
        process.wait(timeout=10)


def records(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_swift_client_pushes_verify_and_decrypt(push_service, tmp_path):
    results_file = tmp_path / "results.json"
    environment = dict(os.environ,
                       HELFERRUF_PUSH_INTEROP_URL=push_service["origin"],
                       HELFERRUF_PUSH_INTEROP_SUBSCRIPTIONS=json.dumps(push_service["subscriptions"]),
                       HELFERRUF_PUSH_INTEROP_RESULTS=str(results_file))
    command = ["swift", "test", "--filter", "HelferrufPushTests.PushInteropTests"]
    if os.environ.get("HELFERRUF_PUSH_SKIP_BUILD"):
        command.insert(2, "--skip-build")
    completed = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=1800)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]

    results = {pathlib.PurePosixPath(r["endpoint"]).name: r for r in json.loads(results_file.read_text())}
    assert results["1"]["outcome"] == "delivered" and results["1"]["attempts"] == 1
    assert results["2"]["outcome"] == "gone" and results["2"]["attempts"] == 1
    assert results["3"]["outcome"] == "delivered" and results["3"]["attempts"] == 2

    received = records(push_service["log"])
    assert [r["path"] for r in received] == ["/push/1", "/push/2", "/push/3", "/push/3"]
    assert [r["answered"] for r in received] == [201, 410, 429, 201]
    for record in received:
        assert record["problems"] == []
        assert record["payload"] == PAYLOAD
        assert record["headers"] == {"ttl": "3600", "urgency": "high", "topic": "call-7c1d",
                                     "content_encoding": "aes128gcm", "content_type": "application/octet-stream"}
        assert record["vapid"]["aud"] == push_service["origin"]
        assert record["vapid"]["sub"] == "mailto:interop@helferruf.example"
    assert received[3]["time"] - received[2]["time"] >= 1.0


def send(origin_url, subscription, *, aud=None, key=None, signature_der=False, body=None, headers=None):
    """A minimal Python Web Push sender, to check push_service.py's own verdicts."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    claims = {"aud": aud or origin_url, "exp": int(time.time()) + 3600, "sub": "mailto:test@example.org"}
    signing_input = b64url(b'{"typ":"JWT","alg":"ES256"}') + "." + b64url(json.dumps(claims).encode())
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    signature = der if signature_der else r.to_bytes(32, "big") + s.to_bytes(32, "big")
    public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    if body is None:
        ua_public = base64.urlsafe_b64decode(subscription["keys"]["p256dh"] + "==")
        ua_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ua_public)
        auth = base64.urlsafe_b64decode(subscription["keys"]["auth"] + "==")
        body = http_ece.encrypt(json.dumps(PAYLOAD).encode(), private_key=ec.generate_private_key(ec.SECP256R1()),
                                dh=ua_key, auth_secret=auth, version="aes128gcm")
    request = urllib.request.Request(subscription["endpoint"], data=body, method="POST", headers=dict({
        "TTL": "60", "Content-Encoding": "aes128gcm", "Urgency": "high",
        "Authorization": f"vapid t={signing_input}.{b64url(signature)}, k={b64url(public)}"}, **(headers or {})))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("case, expected", [
    ({}, 201),
    ({"aud": "https://fcm.googleapis.com"}, 403),
    ({"signature_der": True}, 403),
    ({"body": b"\0" * 100}, 400),
    ({"headers": {"Content-Encoding": "aesgcm"}}, 400),
    ({"headers": {"Topic": "not a topic"}}, 400),
])
def test_push_service_verdicts(push_service, case, expected):
    assert send(push_service["origin"], push_service["subscriptions"][0], **case) == expected


def test_push_service_unknown_subscription_is_gone(push_service):
    unknown = dict(push_service["subscriptions"][0], endpoint=push_service["origin"] + "/push/99")
    assert send(push_service["origin"], unknown) == 410


def test_push_service_uses_given_subscriber_keys(tmp_path):
    # RFC 8291 Appendix A's user agent: its key pair and auth secret.
    process = subprocess.Popen(
        [sys.executable, str(HERE / "push_service.py"),
         "--subscriber", "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94:BTBZMqHH6r4Tts7J_aSIgg"],
        stdout=subprocess.PIPE, text=True)
    try:
        ready = json.loads(process.stdout.readline())
        [subscription] = ready["subscriptions"]
        assert subscription["keys"] == {
            "p256dh": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
            "auth": "BTBZMqHH6r4Tts7J_aSIgg"}
        assert send(ready["origin"], subscription) == 201
    finally:
        process.terminate()
        process.wait(timeout=10)
