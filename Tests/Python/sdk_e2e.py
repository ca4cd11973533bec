"""Drives a running swift-pds with the Python atproto SDK, as a user's app would.

Usage: sdk_e2e.py BASE_URL

Creates an account, logs in, writes records (create, put, delete, a post
with an image blob), lists them, exports the repo with getRepo, decodes the
CAR with the SDK, verifies the commit signature with the key of the DID
document the server returned, and recomputes the MST root with atmst.
Prints `OK: ...` or exits non-zero with the step that failed.
"""
import struct
import sys
import uuid
import zlib

from atproto_client.request import Request
from atproto import CAR, Client, models
from atproto_crypto.verify import verify_signature
from atmst.blockstore.car_file import ReadOnlyCARBlockStore
from atmst.mst.node_store import NodeStore
from atmst.mst.node_walker import NodeWalker
from cbrrr import CID, encode_dag_cbor
import io


def fail(step: str, detail: object) -> None:
    print(f"FAIL at {step}: {detail}")
    sys.exit(1)


def png_bytes() -> bytes:
    """A real 2x2 RGB PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def main() -> None:
    base = sys.argv[1]
    name = "py" + uuid.uuid4().hex[:8]
    handle, password = f"{name}.test", "sdk-" + uuid.uuid4().hex

    # The SDK gives up on a call after 5 s; the whole suite runs in parallel
    # on two cores (password hashing included), so allow more.
    client = Client(base_url=base + "/xrpc", request=Request(timeout=60))
    created = client.com.atproto.server.create_account(
        models.ComAtprotoServerCreateAccount.Data(handle=handle, email=f"{name}@example.com", password=password))
    did = created.did

    # The profile lookup is an app.bsky call for an AppView (proxying is a later part of the server).
    client.login(handle, password, fetch_bsky_profile=False)
    if client.com.atproto.server.get_session().did != did:
        fail("login", "getSession names another DID")

    post = client.send_post(text="Hello from the Python SDK #atrarium_0a1b2c3d", profile_identify=did)
    image_post = client.send_image(
        text="A tiny red square", image=png_bytes(), image_alt="red square", profile_identify=did)
    extra = client.send_post(text="to be deleted", profile_identify=did)
    client.com.atproto.repo.put_record(models.ComAtprotoRepoPutRecord.Data(
        repo=did, collection="app.bsky.actor.profile", rkey="self",
        record={"$type": "app.bsky.actor.profile", "displayName": "Py SDK"}))
    client.com.atproto.repo.delete_record(models.ComAtprotoRepoDeleteRecord.Data(
        repo=did, collection="app.bsky.feed.post", rkey=extra.uri.split("/")[-1]))

    listed = client.com.atproto.repo.list_records(
        models.ComAtprotoRepoListRecords.Params(repo=did, collection="app.bsky.feed.post"))
    uris = sorted(r.uri for r in listed.records)
    if uris != sorted([post.uri, image_post.uri]):
        fail("listRecords", uris)
    got = client.com.atproto.repo.get_record(
        models.ComAtprotoRepoGetRecord.Params(repo=did, collection="app.bsky.feed.post", rkey=image_post.uri.split("/")[-1]))
    embed = got.value.embed
    blob_cid = embed.images[0].image.ref.link if hasattr(embed.images[0].image.ref, "link") else str(embed.images[0].image.ref)
    blob = client.com.atproto.sync.get_blob(models.ComAtprotoSyncGetBlob.Params(did=did, cid=blob_cid))
    if blob != png_bytes():
        fail("getBlob", f"{len(blob)} bytes")

    repo_bytes = client.com.atproto.sync.get_repo(models.ComAtprotoSyncGetRepo.Params(did=did))
    car = CAR.from_bytes(repo_bytes)
    commit = car.blocks.get(car.root)
    if commit is None or commit.get("version") != 3:
        fail("getRepo commit", commit)

    session = client.com.atproto.server.get_session()
    methods = session.did_doc["verificationMethod"]
    did_key = "did:key:" + methods[0]["publicKeyMultibase"]
    data_cid = CID(bytes(commit["data"])) if isinstance(commit["data"], (bytes, bytearray)) else CID.decode(str(commit["data"]))
    unsigned = {k: v for k, v in commit.items() if k != "sig"}
    unsigned["data"] = data_cid
    if not verify_signature(did_key, encode_dag_cbor(unsigned), commit["sig"]):
        fail("signature", did_key)

    walker = NodeWalker(NodeStore(ReadOnlyCARBlockStore(io.BytesIO(repo_bytes))), data_cid)
    keys = sorted(k for k, _ in walker.iter_kv())
    expected = sorted([f"app.bsky.feed.post/{u.split('/')[-1]}" for u in uris] + ["app.bsky.actor.profile/self"])
    if keys != expected:
        fail("MST walk", keys)

    print(f"OK: {did} ({handle}): logged in, 4 records written, 1 deleted, image blob round-tripped, "
          f"repo of {len(car.blocks)} blocks verified (signature by {did_key[:24]}..., {len(keys)} MST keys)")


if __name__ == "__main__":
    main()
