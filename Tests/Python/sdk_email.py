"""Drives a running swift-pds's email flows with the Python atproto SDK,
reading each message from the test's SMTP server (smtp_sink.py's files).

Usage: sdk_email.py BASE_URL SINK_DIR

Confirms an account's email, changes it with the token sent to the old
address, resets the forgotten password, turns on sign-in codes and signs in
with the code mailed. Prints `OK: ...` or exits non-zero with the step that
failed.
"""
import glob
import json
import os
import re
import sys
import time
import uuid

from atproto import Client, models
from atproto_client.exceptions import RequestErrorBase
from atproto_client.request import Request


def fail(step, detail):
    print(f"FAIL at {step}: {detail}")
    sys.exit(1)


class Mailbox:
    """The sink's messages, read in order as they arrive."""

    def __init__(self, directory):
        self.directory = directory
        self.seen = len(glob.glob(os.path.join(directory, "*.json")))

    def next(self, to, subject):
        deadline = time.time() + 20
        while time.time() < deadline:
            files = sorted(glob.glob(os.path.join(self.directory, "*.json")))
            if len(files) > self.seen:
                with open(files[self.seen]) as f:
                    message = json.load(f)
                self.seen += 1
                if message["rcpt_tos"] != [to] or message["subject"] != subject:
                    fail(f"mail '{subject}'", f"got '{message['subject']}' to {message['rcpt_tos']}")
                token = re.search(r"[A-Z2-7]{5}-[A-Z2-7]{5}", message["text"])
                if token is None or token.group(0) not in message["html"]:
                    fail(f"mail '{subject}'", "no token in both bodies")
                return token.group(0)
            time.sleep(0.1)
        fail(f"mail '{subject}'", "did not arrive in 20 s")


def session(client):
    return client.com.atproto.server.get_session()


def main():
    base, sink = sys.argv[1], sys.argv[2]
    mailbox = Mailbox(sink)
    name = "py" + uuid.uuid4().hex[:8]
    handle, email, password = f"{name}.test", f"{name}@example.com", "sdk-" + uuid.uuid4().hex
    client = Client(base_url=base + "/xrpc", request=Request(timeout=60))
    client.com.atproto.server.create_account(
        models.ComAtprotoServerCreateAccount.Data(handle=handle, email=email, password=password))
    client.login(handle, password, fetch_bsky_profile=False)
    if session(client).email_confirmed:
        fail("new account", "email already confirmed")

    # Confirm the address.
    client.com.atproto.server.request_email_confirmation()
    token = mailbox.next(email, "Email Confirmation")
    client.com.atproto.server.confirm_email(models.ComAtprotoServerConfirmEmail.Data(email=email, token=token))
    if not session(client).email_confirmed:
        fail("confirmEmail", "not confirmed")

    # Change it: a confirmed address needs the token mailed to it.
    if not client.com.atproto.server.request_email_update().token_required:
        fail("requestEmailUpdate", "tokenRequired is false for a confirmed address")
    token = mailbox.next(email, "Email Update Requested")
    new_email = f"{name}.new@example.com"
    try:
        client.com.atproto.server.update_email(models.ComAtprotoServerUpdateEmail.Data(email=new_email))
        fail("updateEmail without token", "accepted")
    except RequestErrorBase as error:
        if error.response.content.error != "TokenRequired":
            fail("updateEmail without token", error.response.content)
    client.com.atproto.server.update_email(models.ComAtprotoServerUpdateEmail.Data(email=new_email, token=token))
    current = session(client)
    if current.email != new_email or current.email_confirmed:
        fail("updateEmail", current)
    client.com.atproto.server.request_email_confirmation()
    token = mailbox.next(new_email, "Email Confirmation")
    client.com.atproto.server.confirm_email(models.ComAtprotoServerConfirmEmail.Data(email=new_email, token=token))

    # Forget the password.
    anonymous = Client(base_url=base + "/xrpc", request=Request(timeout=60))
    anonymous.com.atproto.server.request_password_reset(models.ComAtprotoServerRequestPasswordReset.Data(email=new_email))
    token = mailbox.next(new_email, "Password Reset Requested")
    password = "reset-" + uuid.uuid4().hex
    anonymous.com.atproto.server.reset_password(models.ComAtprotoServerResetPassword.Data(token=token, password=password))
    client = Client(base_url=base + "/xrpc", request=Request(timeout=60))
    client.login(handle, password, fetch_bsky_profile=False)

    # Sign-in codes: turned on with a token, then needed to sign in.
    client.com.atproto.server.request_email_update()
    token = mailbox.next(new_email, "Email Update Requested")
    client.com.atproto.server.update_email(
        models.ComAtprotoServerUpdateEmail.Data(email=new_email, email_auth_factor=True, token=token))
    if not session(client).email_auth_factor:
        fail("updateEmail emailAuthFactor", "not on")
    second = Client(base_url=base + "/xrpc", request=Request(timeout=60))
    try:
        second.login(handle, password, fetch_bsky_profile=False)
        fail("login without code", "accepted")
    except RequestErrorBase as error:
        if error.response.content.error != "AuthFactorTokenRequired":
            fail("login without code", error.response.content)
    code = mailbox.next(new_email, "Sign-in Code")
    second.login(handle, password, auth_factor_token=code, fetch_bsky_profile=False)
    if session(second).handle != handle:
        fail("login with code", "getSession names another account")
    print(f"OK: {handle} confirmed, changed, reset and signed in with a code")


if __name__ == "__main__":
    main()
