"""OAuth sign-in to the server with clients someone else wrote.

`requests-oauth2client` (PyPI) is the app: discovery, PAR with the DPoP
nonce retry, the code exchange, DPoP-bound calls, refresh and revocation.
Headless Chromium (Debian `chromium`, driven by `selenium`) is the user's
browser: it opens the authorization URL, signs in and consents; a second
app on the same browser gets the account chooser instead of the password
form. Screenshots of each page go to the directory given.

Usage: oauth_e2e.py BASE_URL HANDLE PASSWORD SCREENSHOT_DIR
Prints "OK" and a line per step; exits non-zero on the first failure.
"""

import atexit
import http.server
import os
import sys
import threading
import urllib.parse

import requests
from requests_oauth2client import OAuth2Client
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

base, handle, password, shots = sys.argv[1:5]
os.makedirs(shots, exist_ok=True)


def step(text):
    print(text, flush=True)


class Callback(http.server.BaseHTTPRequestHandler):
    """The app's loopback redirect URI: remembers the URLs it was sent to."""

    received = []

    def do_GET(self):
        if self.path.startswith("/favicon"):
            self.send_response(404)
            self.end_headers()
            return
        Callback.received.append("http://127.0.0.1:%d%s" % (self.server.server_port, self.path))
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<!doctype html><title>App</title><p id=done>Signed in; back in the app.</p>")

    def log_message(self, *args):
        pass


callback = http.server.HTTPServer(("127.0.0.1", 0), Callback)
threading.Thread(target=callback.serve_forever, daemon=True).start()

# Discovery, as an app that knows only the PDS's URL does it.
resource = requests.get(base + "/.well-known/oauth-protected-resource", timeout=10).json()
issuer = resource["authorization_servers"][0]
metadata = requests.get(issuer + "/.well-known/oauth-authorization-server", timeout=10).json()
assert metadata["issuer"] == issuer, metadata
assert metadata["require_pushed_authorization_requests"] is True
assert "ES256" in metadata["dpop_signing_alg_values_supported"]
step("discovery: issuer %s" % issuer)


def make_client(path, scope):
    redirect = "http://127.0.0.1:%d%s" % (callback.server_port, path)
    client_id = "http://localhost?" + urllib.parse.urlencode({"redirect_uri": redirect, "scope": scope})
    client = OAuth2Client.from_discovery_document(
        metadata, issuer=issuer, client_id=client_id, testing=True,
        dpop_bound_access_tokens=True)
    return client, redirect


options = webdriver.ChromeOptions()
for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=900,1000"):
    options.add_argument(flag)
driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"), options=options)
# A failed check must not leave Chromium running after the script.
atexit.register(driver.quit)
wait = WebDriverWait(driver, 20)


def authorize(client, redirect, scope, shot_prefix, expect_chooser):
    """PAR, then the browser through the pages; returns the tokens."""
    request = client.authorization_request(scope=scope, redirect_uri=redirect, nonce=None, dpop=True)
    pushed = client.pushed_authorization_request(request)
    step("%s: PAR gave %s" % (shot_prefix, pushed.request_uri))
    driver.get(str(pushed.uri))
    if expect_chooser:
        wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "a.account")))
        assert not driver.find_elements(By.ID, "password"), "a second app got the password form, not the account chooser"
        driver.save_screenshot(os.path.join(shots, shot_prefix + "-1-chooser.png"))
        driver.find_element(By.CSS_SELECTOR, "a.account").click()
    else:
        wait.until(expected_conditions.presence_of_element_located((By.ID, "password")))
        driver.save_screenshot(os.path.join(shots, shot_prefix + "-1-sign-in.png"))
        identifier = driver.find_element(By.ID, "identifier")
        identifier.clear()
        identifier.send_keys(handle)
        driver.find_element(By.ID, "password").send_keys(password)
        driver.find_element(By.ID, "sign-in").click()
    wait.until(expected_conditions.presence_of_element_located((By.ID, "allow")))
    driver.save_screenshot(os.path.join(shots, shot_prefix + "-2-consent.png"))
    before = len(Callback.received)
    driver.find_element(By.ID, "allow").click()
    wait.until(lambda d: len(Callback.received) > before)
    landed = Callback.received[-1]
    step("%s: browser landed on the redirect URI with a code" % shot_prefix)
    response = request.validate_callback(landed)  # checks state and iss
    return client.authorization_code(response, dpop_key=request.dpop_key)


def xrpc(method, token, verb="GET", **kwargs):
    return requests.request(verb, base + "/xrpc/" + method, auth=token, timeout=10, **kwargs)


# The first app: sign in, write, read.
app, redirect = make_client("/app-one/callback", "atproto transition:generic")
token = authorize(app, redirect, "atproto transition:generic", "app1", expect_chooser=False)
assert token.token_type.lower() == "dpop", token.token_type
session = xrpc("com.atproto.server.getSession", token)
assert session.status_code == 200, session.text
did = session.json()["did"]
assert "email" not in session.json(), "transition:generic alone must not show the email"
step("getSession over DPoP: %s" % did)
created = xrpc("com.atproto.repo.createRecord", token, "POST", json={
    "repo": did, "collection": "app.bsky.feed.post",
    "record": {"$type": "app.bsky.feed.post", "text": "posted through OAuth", "createdAt": "2026-12-07T12:00:00.000Z"}})
assert created.status_code == 200, created.text
rkey = created.json()["uri"].rsplit("/", 1)[1]
fetched = xrpc("com.atproto.repo.getRecord", token, params={"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey})
assert fetched.status_code == 200 and fetched.json()["value"]["text"] == "posted through OAuth", fetched.text
step("createRecord and getRecord over DPoP")

# Bearer use of the DPoP-bound token is refused.
bearer = requests.get(base + "/xrpc/com.atproto.server.getSession",
                      headers={"Authorization": "Bearer " + token.access_token}, timeout=10)
assert bearer.status_code == 401, bearer.text
step("the token as a Bearer token: %d" % bearer.status_code)

# Refresh rotates; the spent refresh token then revokes the grant.
refreshed = app.refresh_token(token)
assert refreshed.refresh_token and refreshed.refresh_token != token.refresh_token
again = xrpc("com.atproto.server.getSession", refreshed)
assert again.status_code == 200, again.text
step("refresh: new tokens work")

# The second app on the same browser: the account chooser, not the password.
app2, redirect2 = make_client("/app-two/callback", "atproto transition:generic transition:email")
token2 = authorize(app2, redirect2, "atproto transition:generic transition:email", "app2", expect_chooser=True)
session2 = xrpc("com.atproto.server.getSession", token2)
assert session2.status_code == 200 and "email" in session2.json(), session2.text
step("second app: signed in through the chooser; transition:email shows the email")

# Revocation (RFC 7009) by the first app ends its grant.
assert app.revoke_refresh_token(refreshed)
gone = xrpc("com.atproto.server.getSession", refreshed)
assert gone.status_code == 401, gone.text
step("revoked: the first app's token answers %d" % gone.status_code)

# The user revokes the second app on the "Apps with access" page.
driver.get(base + "/oauth/apps")
wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "button.revoke")))
driver.save_screenshot(os.path.join(shots, "apps-1-list.png"))
rows = driver.find_elements(By.CSS_SELECTOR, "section.grant")
assert len(rows) == 1, "expected only the second app's grant, found %d" % len(rows)
driver.find_element(By.CSS_SELECTOR, "button.revoke").click()
wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "button.revoke"))
driver.save_screenshot(os.path.join(shots, "apps-2-revoked.png"))
gone2 = xrpc("com.atproto.server.getSession", token2)
assert gone2.status_code == 401, gone2.text
step("revoked on the apps page: the second app's token answers %d" % gone2.status_code)

print("OK")
