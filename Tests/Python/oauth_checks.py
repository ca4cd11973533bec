"""The OAuth server's refusals and scopes, driven over HTTP.

DPoP proofs are made with `requests-oauth2client`'s DPoPKey (PyPI); the
authorize pages are answered by plain form posts, as a browser sends them.
Checks: granular scopes (a token with only `repo:app.bsky.feed.like`;
`rpc:` gating service auth and proxied calls), and bad input each refused
with the RFC's error code: PKCE missing or `plain`, an undeclared
redirect_uri, a reused request_uri or code, a wrong verifier, proofs with
the wrong htm, htu, key, ath or a replayed jti, a stale nonce, and client
metadata documents that are invalid, too large, slow, or whose client_id
is not their URL.

Usage: oauth_checks.py BASE_URL HANDLE PASSWORD APPVIEW_SERVICE
Prints "OK" at the end and, on its last line, "grants: N" (the grants this
run left in force); exits non-zero on the first failure.
"""

import base64
import hashlib
import html
import http.server
import json
import re
import secrets
import sys
import threading
import time
import urllib.parse

import jwskate
import requests
from requests_oauth2client import DPoPKey

base, handle, password, appview = sys.argv[1:5]
PAR, TOKEN, AUTHORIZE = base + "/oauth/par", base + "/oauth/token", base + "/oauth/authorize"
REDIRECT = "http://127.0.0.1:9/callback"
left_in_force = 0


def check(condition, message):
    if not condition:
        print("FAILED: " + message, flush=True)
        sys.exit(1)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def loopback_client(scope):
    return "http://localhost?" + urllib.parse.urlencode({"redirect_uri": REDIRECT, "scope": scope})


nonce = {"value": None}


def proof(key, htm, htu, ath=None, nonce_value=...):
    value = nonce["value"] if nonce_value is ... else nonce_value
    return str(key.proof(htm=htm, htu=htu, ath=ath, nonce=value))


def post(url, data, key, **proof_args):
    """A form post with a DPoP proof; retries once with the nonce the server asks for."""
    for _ in range(2):
        response = requests.post(url, data=data, headers={"DPoP": proof(key, "POST", url, **proof_args)}, timeout=10)
        if "DPoP-Nonce" in response.headers:
            nonce["value"] = response.headers["DPoP-Nonce"]
        if response.status_code == 400 and response.json().get("error") == "use_dpop_nonce" and "nonce_value" not in proof_args:
            continue
        return response
    return response


def expect_error(response, status, code, what):
    check(response.status_code == status, "%s: expected %d, got %d %s" % (what, status, response.status_code, response.text))
    check(response.json().get("error") == code, "%s: expected error %s, got %s" % (what, code, response.text))
    print("refused as expected: %s -> %s" % (what, code), flush=True)


def par(client_id, scope, key, **overrides):
    verifier = secrets.token_urlsafe(48)
    form = {
        "client_id": client_id, "response_type": "code", "redirect_uri": REDIRECT, "scope": scope,
        "state": secrets.token_urlsafe(16), "code_challenge": b64(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    form.update(overrides)
    for name, value in list(form.items()):
        if value is None:
            del form[name]
    return post(PAR, form, key), verifier, form


def hidden_fields(page):
    return {html.unescape(n): html.unescape(v) for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)}


def consent(client_id, request_uri, browser):
    """Signs in and allows through the pages' forms; returns the redirect Location."""
    page = browser.get(AUTHORIZE, params={"client_id": client_id, "request_uri": request_uri}, timeout=10)
    check(page.status_code == 200, "authorize page: %d %s" % (page.status_code, page.text[:300]))
    fields = hidden_fields(page.text)
    if 'id="password"' in page.text:
        fields.update(identifier=handle, password=password, remember="1")
        signed_in = browser.post(base + "/oauth/authorize/sign-in", data=fields, headers={"Origin": base},
                                 allow_redirects=False, timeout=10)
        check(signed_in.status_code == 303, "sign-in: %d %s" % (signed_in.status_code, signed_in.text[:300]))
        page = browser.get(urllib.parse.urljoin(base, signed_in.headers["Location"]), timeout=10)
    else:
        account = re.search(r'class="button secondary account" href="([^"]+)"', page.text)
        check(account is not None, "no account chooser: " + page.text[:300])
        page = browser.get(urllib.parse.urljoin(base, html.unescape(account.group(1))), timeout=10)
    fields = hidden_fields(page.text)
    check("did" in fields, "no consent page: " + page.text[:300])
    fields["decision"] = "allow"
    answered = browser.post(base + "/oauth/authorize/consent", data=fields, headers={"Origin": base},
                            allow_redirects=False, timeout=10)
    check(answered.status_code == 303, "consent: %d %s" % (answered.status_code, answered.text[:300]))
    return answered.headers["Location"]


def code_of(location):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]


def sign_in(scope, browser):
    """A whole flow for a loopback client asking for `scope`; returns (key, token answer, client_id)."""
    client_id = loopback_client(scope)
    key = DPoPKey.generate(alg="ES256")
    response, verifier, _ = par(client_id, scope, key)
    check(response.status_code == 201, "PAR: %d %s" % (response.status_code, response.text))
    location = consent(client_id, response.json()["request_uri"], browser)
    tokens = post(TOKEN, {"grant_type": "authorization_code", "code": code_of(location), "redirect_uri": REDIRECT,
                          "code_verifier": verifier, "client_id": client_id}, key)
    check(tokens.status_code == 200, "token: %d %s" % (tokens.status_code, tokens.text))
    return key, tokens.json(), client_id


def xrpc(verb, method, key, token, rs_nonce=None, **kwargs):
    url = base + "/xrpc/" + method
    ath = b64(hashlib.sha256(token.encode()).digest())
    headers = kwargs.pop("headers", {})
    for _ in range(2):
        headers.update({"Authorization": "DPoP " + token, "DPoP": proof(key, verb, url, ath=ath)})
        response = requests.request(verb, url, headers=headers, timeout=10, **kwargs)
        if "DPoP-Nonce" in response.headers:
            nonce["value"] = response.headers["DPoP-Nonce"]
        if response.status_code == 401 and 'error="use_dpop_nonce"' in response.headers.get("WWW-Authenticate", ""):
            continue
        return response
    return response


def post_record(collection, record, key, token, did):
    return xrpc("POST", "com.atproto.repo.createRecord", key, token, json={"repo": did, "collection": collection, "record": record})


browser = requests.Session()
now = "2026-12-07T12:00:00.000Z"

# --- Granular scopes: a token that may only create likes. ---
key, tokens, _ = sign_in("atproto repo:app.bsky.feed.like", browser)
left_in_force += 1
access, did = tokens["access_token"], tokens["sub"]
like = post_record("app.bsky.feed.like", {"$type": "app.bsky.feed.like", "createdAt": now, "subject": {
    "uri": "at://%s/app.bsky.feed.post/3jzfcijpj2z2a" % did, "cid": "bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"}},
    key, access, did)
check(like.status_code == 200, "a like with repo:app.bsky.feed.like: %d %s" % (like.status_code, like.text))
print("repo:app.bsky.feed.like creates a like", flush=True)
refused = post_record("app.bsky.feed.post", {"$type": "app.bsky.feed.post", "text": "no", "createdAt": now}, key, access, did)
check(refused.status_code == 403 and "repo:app.bsky.feed.post?action=create" in refused.text, "a post: %s" % refused.text)
rkey = like.json()["uri"].rsplit("/", 1)[1]
delete = xrpc("POST", "com.atproto.repo.deleteRecord", key, access, json={"repo": did, "collection": "app.bsky.feed.like", "rkey": rkey})
check(delete.status_code == 200, "deleting the like: %s" % delete.text)
blob = xrpc("POST", "com.atproto.repo.uploadBlob", key, access, data=b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
            headers={"Content-Type": "image/png"})
check(blob.status_code == 403 and "blob:image/png" in blob.text, "a blob: %s" % blob.text)
app_password = xrpc("POST", "com.atproto.server.createAppPassword", key, access, json={"name": "x"})
check(app_password.status_code == 403, "an app password: %s" % app_password.text)
deletion = xrpc("POST", "com.atproto.server.requestAccountDelete", key, access)
check(deletion.status_code == 403, "account deletion: %s" % deletion.text)
prefs = xrpc("GET", "app.bsky.actor.getPreferences", key, access)
check(prefs.status_code == 403 and "transition:generic" in prefs.text, "preferences: %s" % prefs.text)
session = xrpc("GET", "com.atproto.server.getSession", key, access)
check(session.status_code == 200 and "email" not in session.json(), "getSession: %s" % session.text)
print("repo:app.bsky.feed.like is refused for posts, blobs, app passwords, account deletion and preferences", flush=True)

# --- account: and identity: permissions. ---
key, tokens, _ = sign_in("atproto account:status?action=manage", browser)
left_in_force += 1
access = tokens["access_token"]
status = xrpc("GET", "com.atproto.server.checkAccountStatus", key, access)
check(status.status_code == 200, "checkAccountStatus with account:status?action=manage: %s" % status.text)
off = xrpc("POST", "com.atproto.server.deactivateAccount", key, access, json={})
check(off.status_code == 200, "deactivateAccount with account:status?action=manage: %s" % off.text)
on = xrpc("POST", "com.atproto.server.activateAccount", key, access)
check(on.status_code == 200, "activateAccount with account:status?action=manage: %s" % on.text)
handle_refused = xrpc("POST", "com.atproto.identity.updateHandle", key, access, json={"handle": "renamed-never.test"})
check(handle_refused.status_code == 403 and "identity:handle" in handle_refused.text, "updateHandle without identity:handle: %s" % handle_refused.text)
key, tokens, _ = sign_in("atproto identity:handle", browser)
left_in_force += 1
access = tokens["access_token"]
renamed = xrpc("POST", "com.atproto.identity.updateHandle", key, access, json={"handle": handle})
check(renamed.status_code == 200, "updateHandle with identity:handle: %s" % renamed.text)
plc = xrpc("POST", "com.atproto.identity.requestPlcOperationSignature", key, access)
check(plc.status_code == 403 and "identity:*" in plc.text, "a PLC operation with identity:handle only: %s" % plc.text)
status_refused = xrpc("POST", "com.atproto.server.deactivateAccount", key, access, json={})
check(status_refused.status_code == 403 and "account:status?action=manage" in status_refused.text, status_refused.text)
print("account:status and identity:handle gate exactly their methods", flush=True)

# --- rpc: scopes gate service-auth tokens and proxied calls. ---
scope = "atproto rpc:app.bsky.actor.getProfile?aud=" + urllib.parse.quote(appview, safe=":")
key, tokens, _ = sign_in(scope, browser)
left_in_force += 1
access = tokens["access_token"]
allowed = xrpc("GET", "com.atproto.server.getServiceAuth", key, access, params={"aud": appview, "lxm": "app.bsky.actor.getProfile"})
check(allowed.status_code == 200 and "token" in allowed.json(), "service auth within rpc: %s" % allowed.text)
other = xrpc("GET", "com.atproto.server.getServiceAuth", key, access, params={"aud": appview, "lxm": "app.bsky.feed.getTimeline"})
check(other.status_code == 403 and "rpc:app.bsky.feed.getTimeline" in other.text, "service auth outside rpc: %s" % other.text)
proxied = xrpc("GET", "app.bsky.actor.getProfile", key, access, params={"actor": did}, headers={"atproto-proxy": appview})
check(proxied.status_code == 200, "a proxied call within rpc: %d %s" % (proxied.status_code, proxied.text))
proxied_other = xrpc("GET", "app.bsky.feed.getTimeline", key, access, headers={"atproto-proxy": appview})
check(proxied_other.status_code == 403 and "rpc:app.bsky.feed.getTimeline" in proxied_other.text, proxied_other.text)
print("rpc: scopes gate getServiceAuth and proxied calls", flush=True)

# --- Bad input at PAR: nothing is stored, each answer names the RFC error. ---
key = DPoPKey.generate(alg="ES256")
client_id = loopback_client("atproto transition:generic")
expect_error(par(client_id, "atproto", key, code_challenge=None, code_challenge_method=None)[0], 400, "invalid_request", "PAR without PKCE")
expect_error(par(client_id, "atproto", key, code_challenge_method="plain")[0], 400, "invalid_request", "PAR with plain PKCE")
expect_error(par(client_id, "atproto", key, redirect_uri="https://attacker.example/cb")[0], 400, "invalid_request",
             "PAR with an undeclared redirect_uri")
expect_error(par(client_id, "atproto transition:chat.bsky", key)[0], 400, "invalid_scope", "PAR beyond the client's scope")
expect_error(par(client_id, "atproto", key, dpop_jkt="not-this-key")[0], 400, "invalid_request", "PAR with another dpop_jkt")
stale = requests.post(PAR, data={"client_id": client_id}, timeout=10,
                      headers={"DPoP": proof(key, "POST", PAR, nonce_value="stale-nonce")})
expect_error(stale, 400, "use_dpop_nonce", "PAR with a stale nonce")
check(stale.headers.get("DPoP-Nonce"), "no DPoP-Nonce with use_dpop_nonce")
expect_error(requests.post(PAR, data={"client_id": client_id}, timeout=10, headers={"DPoP": proof(key, "GET", PAR)}),
             400, "invalid_dpop_proof", "a proof with the wrong htm")
expect_error(requests.post(PAR, data={"client_id": client_id}, timeout=10, headers={"DPoP": proof(key, "POST", TOKEN)}),
             400, "invalid_dpop_proof", "a proof with the wrong htu")
replayed_key = DPoPKey.generate(alg="ES256", jti_generator=lambda: "same-jti-every-time")
first = par(client_id, "atproto", replayed_key)[0]
check(first.status_code == 201, "first use of a jti: %s" % first.text)
expect_error(par(client_id, "atproto", replayed_key)[0], 400, "invalid_dpop_proof", "a replayed jti")

# --- request_uri, code and verifier. ---
scope = "atproto transition:generic"
key = DPoPKey.generate(alg="ES256")
response, verifier, _ = par(client_id, scope, key)
request_uri = response.json()["request_uri"]
location = consent(client_id, request_uri, browser)
again = browser.get(AUTHORIZE, params={"client_id": client_id, "request_uri": request_uri}, timeout=10)
check(again.status_code == 400 and "already been answered" in again.text, "a reused request_uri: %d" % again.status_code)
print("refused as expected: a reused request_uri", flush=True)
unknown = browser.get(AUTHORIZE, params={"client_id": client_id, "request_uri": request_uri + "x"}, timeout=10)
check(unknown.status_code == 400, "an unknown request_uri: %d" % unknown.status_code)
code = code_of(location)
exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client_id}
expect_error(post(TOKEN, dict(exchange, code_verifier="x" * 43), key), 400, "invalid_grant", "a wrong PKCE verifier")
expect_error(post(TOKEN, dict(exchange, code_verifier=verifier), DPoPKey.generate(alg="ES256")), 400, "invalid_grant",
             "the code with another DPoP key")
expect_error(post(TOKEN, dict(exchange, code_verifier=verifier, redirect_uri=REDIRECT + "/other"), key), 400, "invalid_grant",
             "the code with another redirect_uri")
good = post(TOKEN, dict(exchange, code_verifier=verifier), key)
check(good.status_code == 200, "the code exchange: %s" % good.text)
first_tokens = good.json()
expect_error(post(TOKEN, dict(exchange, code_verifier=verifier), key), 400, "invalid_grant", "a reused code")
revoked = xrpc("GET", "com.atproto.server.getSession", key, first_tokens["access_token"])
check(revoked.status_code == 401, "the reused code's tokens still work: %s" % revoked.text)
print("a reused code revoked the tokens issued for it", flush=True)

# --- Resource requests: proofs that do not fit the token. ---
key, tokens, _ = sign_in(scope, browser)
access = tokens["access_token"]
url = base + "/xrpc/com.atproto.server.getSession"
ath = b64(hashlib.sha256(access.encode()).digest())
cases = [
    ("a proof by another key", DPoPKey.generate(alg="ES256"), "GET", url, ath),
    ("a proof with the wrong ath", key, "GET", url, b64(b"\0" * 32)),
    ("a proof without ath", key, "GET", url, None),
    ("a proof with the wrong htu", key, "GET", base + "/xrpc/com.atproto.repo.createRecord", ath),
    ("a proof with the wrong htm", key, "POST", url, ath),
]
for what, signer, htm, htu, hash_value in cases:
    response = requests.get(url, timeout=10, headers={"Authorization": "DPoP " + access, "DPoP": proof(signer, htm, htu, ath=hash_value)})
    check(response.status_code == 401 and 'error="invalid_dpop_proof"' in response.headers.get("WWW-Authenticate", ""),
          "%s: %d %s" % (what, response.status_code, response.text))
    print("refused as expected: %s" % what, flush=True)
stale = requests.get(url, timeout=10, headers={"Authorization": "DPoP " + access, "DPoP": proof(key, "GET", url, ath=ath, nonce_value="old")})
check(stale.status_code == 401 and 'error="use_dpop_nonce"' in stale.headers.get("WWW-Authenticate", "") and stale.headers.get("DPoP-Nonce"),
      "a stale nonce on a resource request: %s" % stale.text)
print("refused as expected: a stale nonce on a resource request", flush=True)

# --- prompt=none: a code without pages once this browser's account granted the client; else an error. ---
silent_key = DPoPKey.generate(alg="ES256")
response, verifier, form = par(client_id, scope, silent_key, prompt="none")
silent = browser.get(AUTHORIZE, params={"client_id": client_id, "request_uri": response.json()["request_uri"]}, allow_redirects=False,
                     timeout=10)
check(silent.status_code == 303 and "code=" in silent.headers["Location"] and "state=" + form["state"] in silent.headers["Location"],
      "prompt=none with a grant: %d %s" % (silent.status_code, silent.headers.get("Location")))
quiet = post(TOKEN, {"grant_type": "authorization_code", "code": code_of(silent.headers["Location"]), "redirect_uri": REDIRECT,
                     "code_verifier": verifier, "client_id": client_id}, silent_key)
check(quiet.status_code == 200, "prompt=none code exchange: %s" % quiet.text)
left_in_force += 1
stranger = loopback_client("atproto transition:generic transition:email")
response = par(stranger, "atproto transition:generic", DPoPKey.generate(alg="ES256"), prompt="none")[0]
refused = browser.get(AUTHORIZE, params={"client_id": stranger, "request_uri": response.json()["request_uri"]}, allow_redirects=False,
                      timeout=10)
check(refused.status_code == 303 and "error=consent_required" in refused.headers["Location"], "prompt=none without a grant: %s" % refused.headers)
fresh_browser = requests.Session()
response = par(client_id, scope, DPoPKey.generate(alg="ES256"), prompt="none")[0]
refused = fresh_browser.get(AUTHORIZE, params={"client_id": client_id, "request_uri": response.json()["request_uri"]}, allow_redirects=False,
                            timeout=10)
check(refused.status_code == 303 and "error=login_required" in refused.headers["Location"], "prompt=none signed out: %s" % refused.headers)
print("prompt=none: a code from an existing grant, consent_required and login_required otherwise", flush=True)

# Refresh: rotation, and a spent refresh token revokes the grant.
refreshed = post(TOKEN, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": client_id}, key)
check(refreshed.status_code == 200 and refreshed.json()["refresh_token"] != tokens["refresh_token"], refreshed.text)
expect_error(post(TOKEN, {"grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"], "client_id": client_id},
                  DPoPKey.generate(alg="ES256")), 400, "invalid_grant", "a refresh with another DPoP key")
expect_error(post(TOKEN, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": client_id}, key),
             400, "invalid_grant", "a spent refresh token")
after = post(TOKEN, {"grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"], "client_id": client_id}, key)
expect_error(after, 400, "invalid_grant", "the grant after its refresh token was replayed")

# --- Client metadata documents, served from a loopback port. ---
documents = {}


class Documents(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body, delay = documents.get(self.path, (b"{}", 0))
        time.sleep(delay)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:
            pass

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Documents)
threading.Thread(target=server.serve_forever, daemon=True).start()
origin = "http://127.0.0.1:%d" % server.server_port


def document(path, **fields):
    metadata = {"client_id": origin + path, "client_name": "Documented app", "redirect_uris": ["http://127.0.0.1/cb"],
                "scope": "atproto transition:generic", "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"], "token_endpoint_auth_method": "none", "application_type": "native",
                "dpop_bound_access_tokens": True}
    metadata.update(fields)
    return json.dumps({k: v for k, v in metadata.items() if v is not None}).encode()


documents["/good.json"] = (document("/good.json"), 0)
documents["/no-dpop.json"] = (document("/no-dpop.json", dpop_bound_access_tokens=False), 0)
documents["/other-id.json"] = (document("/other-id.json", client_id=origin + "/good.json"), 0)
documents["/large.json"] = (b'{"pad": "' + b"x" * 70_000 + b'"}', 0)
documents["/slow.json"] = (document("/slow.json"), 8)
documents["/not-json.json"] = (b"<html>hello</html>", 0)


def document_par(path):
    return post(PAR, {"client_id": origin + path, "response_type": "code", "redirect_uri": "http://127.0.0.1/cb",
                      "scope": "atproto", "state": "s", "code_challenge": b64(hashlib.sha256(b"v" * 43).digest()),
                      "code_challenge_method": "S256"}, DPoPKey.generate(alg="ES256"))


good = document_par("/good.json")
check(good.status_code == 201, "a valid client metadata document: %s" % good.text)
print("a valid client metadata document is accepted", flush=True)
expect_error(document_par("/no-dpop.json"), 400, "invalid_client_metadata", "a document without dpop_bound_access_tokens")
expect_error(document_par("/other-id.json"), 400, "invalid_client_metadata", "a document whose client_id is not its URL")
expect_error(document_par("/not-json.json"), 400, "invalid_client_metadata", "a document that is not JSON")
expect_error(document_par("/large.json"), 401, "invalid_client", "a document over 64 KiB")
started = time.monotonic()
expect_error(document_par("/slow.json"), 401, "invalid_client", "a document that takes 8 s")
check(time.monotonic() - started < 7.5, "the slow document was waited for %.1f s" % (time.monotonic() - started))
# --- A confidential client: private_key_jwt assertions at PAR, token and refresh. ---
client_key = jwskate.Jwk.generate(alg="ES256", kid="key-1")
confidential = origin + "/confidential.json"
documents["/confidential.json"] = (document(
    "/confidential.json", client_name="Confidential app", token_endpoint_auth_method="private_key_jwt",
    token_endpoint_auth_signing_alg="ES256", application_type="web",
    jwks={"keys": [dict(client_key.public_jwk(), kid="key-1", use="sig")]}), 0)


def assertion(jti=None):
    now_s = int(time.time())
    claims = {"iss": confidential, "sub": confidential, "aud": base, "iat": now_s, "exp": now_s + 60,
              "jti": jti or secrets.token_urlsafe(12)}
    return str(jwskate.Jwt.sign(claims, client_key, alg="ES256"))


ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
key = DPoPKey.generate(alg="ES256")
verifier = secrets.token_urlsafe(48)
pushed = post(PAR, {
    "client_id": confidential, "response_type": "code", "redirect_uri": "http://127.0.0.1/cb", "scope": "atproto transition:generic",
    "state": "confidential", "code_challenge": b64(hashlib.sha256(verifier.encode()).digest()), "code_challenge_method": "S256",
    "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion()}, key)
check(pushed.status_code == 201, "confidential PAR: %s" % pushed.text)
expect_error(post(PAR, {"client_id": confidential, "response_type": "code", "redirect_uri": "http://127.0.0.1/cb", "scope": "atproto",
                        "state": "s", "code_challenge": b64(hashlib.sha256(verifier.encode()).digest()),
                        "code_challenge_method": "S256"}, key), 401, "invalid_client", "a confidential client without its assertion")
location = consent(confidential, pushed.json()["request_uri"], browser)
replayed = assertion("used-once")
exchanged = post(TOKEN, {"grant_type": "authorization_code", "code": code_of(location), "redirect_uri": "http://127.0.0.1/cb",
                         "code_verifier": verifier, "client_id": confidential, "client_assertion_type": ASSERTION_TYPE,
                         "client_assertion": replayed}, key)
check(exchanged.status_code == 200, "confidential code exchange: %s" % exchanged.text)
refresh = {"grant_type": "refresh_token", "refresh_token": exchanged.json()["refresh_token"], "client_id": confidential,
           "client_assertion_type": ASSERTION_TYPE}
expect_error(post(TOKEN, dict(refresh, client_assertion=replayed), key), 401, "invalid_client", "a replayed client assertion")
expect_error(post(TOKEN, {k: v for k, v in refresh.items() if k != "client_assertion_type"}, key), 401, "invalid_client",
             "a confidential client's refresh without its assertion")
renewed = post(TOKEN, dict(refresh, client_assertion=assertion()), key)
check(renewed.status_code == 200 and renewed.json()["refresh_token"] != refresh["refresh_token"], "confidential refresh: %s" % renewed.text)
left_in_force += 1
print("a confidential client signs in, exchanges and refreshes with private_key_jwt", flush=True)
server.shutdown()

print("OK")
print("grants: %d" % left_in_force)
