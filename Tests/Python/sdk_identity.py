"""Drives a running swift-pds with the Python atproto SDK: preferences and a
call the server proxies to its AppView.

Usage: sdk_identity.py BASE_URL

Creates an account, logs in, stores preferences with putPreferences and
reads them back with getPreferences, then calls app.bsky.feed.getTimeline,
which the server forwards to the AppView (a test double that checks the
service token). Prints `OK: ...` or exits non-zero with the step that failed.
"""
import sys
import uuid

from atproto_client.request import Request
from atproto import Client, models


def fail(step: str, detail: object) -> None:
    print(f"FAIL at {step}: {detail}")
    sys.exit(1)


def main() -> None:
    base = sys.argv[1]
    name = "py" + uuid.uuid4().hex[:8]
    handle, password = f"{name}.test", "sdk-" + uuid.uuid4().hex
    # The SDK gives up on a call after 5 s; the whole suite runs in parallel
    # on two cores (password hashing included), so allow more.
    client = Client(base_url=base + "/xrpc", request=Request(timeout=60))
    created = client.com.atproto.server.create_account(
        models.ComAtprotoServerCreateAccount.Data(handle=handle, email=f"{name}@example.com", password=password))
    # The profile lookup goes through the proxy too.
    profile = client.login(handle, password)
    if client.me is None or client.me.did != created.did:
        fail("login", "the session names another DID")

    wanted = [
        models.AppBskyActorDefs.AdultContentPref(enabled=True),
        models.AppBskyActorDefs.ContentLabelPref(label="nsfw", visibility="warn"),
    ]
    client.app.bsky.actor.put_preferences(models.AppBskyActorPutPreferences.Data(preferences=wanted))
    got = client.app.bsky.actor.get_preferences().preferences
    types = [getattr(p, "py_type", None) for p in got]
    if types != ["app.bsky.actor.defs#adultContentPref", "app.bsky.actor.defs#contentLabelPref"]:
        fail("getPreferences", types)
    if not got[0].enabled or got[1].label != "nsfw":
        fail("getPreferences values", got)

    timeline = client.get_timeline(limit=3)
    if timeline.feed != []:
        fail("getTimeline", timeline)
    print(f"OK: {created.did} preferences={len(got)} timeline proxied")


if __name__ == "__main__":
    main()
