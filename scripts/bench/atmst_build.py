"""Builds an MST with atmst (Python) from "key cid" lines, for `pds bench repo`.

Prints `root=<cid> seconds=<build seconds>`.
"""
import sys
import time

from atmst.blockstore import MemoryBlockStore
from atmst.mst.node_store import NodeStore
from atmst.mst.node_wrangler import NodeWrangler
from cbrrr import CID

items = []
with open(sys.argv[1]) as f:
    for line in f:
        key, cid = line.split()
        items.append((key, CID.decode(cid)))

start = time.perf_counter()
store = NodeStore(MemoryBlockStore())
wrangler = NodeWrangler(store)
root = store.get_node(None).cid
for key, value in items:
    root = wrangler.put_record(root, key, value)
elapsed = time.perf_counter() - start
print(f"root={root.encode('base32')} seconds={elapsed:.3f}")
