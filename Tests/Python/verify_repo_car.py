"""Independent check of a repository CAR written by this project.

Usage: verify_repo_car.py CAR_FILE DID_KEY EXPECTED_RECORDS

Parses the CAR with the atproto SDK, verifies the commit signature with the
SDK's crypto package, walks the MST with atmst (a separate implementation),
rebuilds the tree from the records it found and checks that the root equals
the commit's `data`. Exits non-zero with a message on any difference.
"""
import sys

from atproto_core.car import CAR
from atproto_crypto.verify import verify_signature
from atmst.blockstore import MemoryBlockStore
from atmst.blockstore.car_file import ReadOnlyCARBlockStore
from atmst.mst.node_store import NodeStore
from atmst.mst.node_walker import NodeWalker
from atmst.mst.node_wrangler import NodeWrangler
from cbrrr import CID, encode_dag_cbor


def fail(message: str) -> None:
    print(f"FAIL: {message}")
    sys.exit(1)


def to_cid(value) -> CID:
    """The SDK's decoder (libipld) gives links as CID bytes; cbrrr wants its CID type."""
    if isinstance(value, (bytes, bytearray)):
        return CID(bytes(value))
    return CID.decode(str(value))


def main() -> None:
    car_path, did_key, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data = open(car_path, "rb").read()

    car = CAR.from_bytes(data)
    commit = car.blocks.get(car.root)
    if commit is None:
        fail("the root commit block is missing")
    if commit.get("version") != 3 or "prev" not in commit or commit["prev"] is not None:
        fail(f"not a v3 commit with prev null: {commit}")

    data_cid = to_cid(commit["data"])
    unsigned = {k: v for k, v in commit.items() if k != "sig"}
    unsigned["data"] = data_cid
    if not verify_signature(did_key, encode_dag_cbor(unsigned), commit["sig"]):
        fail("the commit signature does not verify with the atproto SDK")

    with open(car_path, "rb") as f:
        bs = ReadOnlyCARBlockStore(f)
        walker = NodeWalker(NodeStore(bs), data_cid)
        records = list(walker.iter_kv())
        for key, value in records:
            if bytes(value) not in bs.block_offsets:
                fail(f"record block of {key} is missing")

    if len(records) != expected:
        fail(f"expected {expected} records, atmst walked {len(records)}")

    store = NodeStore(MemoryBlockStore())
    wrangler = NodeWrangler(store)
    root = store.get_node(None).cid
    for key, value in records:
        root = wrangler.put_record(root, key, value)
    if root != data_cid:
        fail(f"atmst rebuilt root {root.encode('base32')} but the commit says {data_cid.encode('base32')}")

    print(f"OK: {commit['did']} rev {commit['rev']}: signature verified, {len(records)} records, "
          f"MST root {root.encode('base32')} recomputed by atmst, {len(car.blocks)} blocks decoded by the SDK")


if __name__ == "__main__":
    main()
