"""Reads our subscribeRepos stream with the Python atproto SDK (an
independent decoder): every frame must parse into the SDK's models, seqs
must run 1..N without gaps, and each #commit's CAR must hold its commit
(as the root) and the record blocks of its creates and updates.

Usage: firehose_check.py ws://127.0.0.1:PORT/xrpc EXPECTED_EVENTS
Prints "OK: ..." and exits 0 on success.
"""

import sys
import threading

from atproto import CAR, FirehoseSubscribeReposClient, models, parse_subscribe_repos_message

base_uri, expected = sys.argv[1], int(sys.argv[2])
Repos = models.ComAtprotoSyncSubscribeRepos
client = FirehoseSubscribeReposClient(Repos.Params(cursor=0), base_uri=base_uri)
seqs: list = []
kinds: dict = {}
problems: list = []


def on_message(message) -> None:
    try:
        event = parse_subscribe_repos_message(message)
        kinds[message.type] = kinds.get(message.type, 0) + 1
        seqs.append(event.seq)
        if isinstance(event, Repos.Commit):
            car = CAR.from_bytes(event.blocks)
            assert str(car.root) == str(event.commit), f"CAR root {car.root} is not the commit {event.commit}"
            commit = car.blocks.get(car.root)
            assert commit is not None and commit["rev"] == event.rev, "commit block missing or rev differs"
            assert event.prev_data is not None or event.since is None, "prevData missing"
            for op in event.ops:
                if op.action in ("create", "update"):
                    assert op.cid is not None and car.blocks.get(op.cid) is not None, f"record block of {op.path} missing"
                if op.action == "create":
                    assert op.prev is None, f"create {op.path} has prev"
                else:
                    assert op.prev is not None, f"{op.action} {op.path} lacks prev"
        elif isinstance(event, Repos.Sync):
            car = CAR.from_bytes(event.blocks)
            assert car.blocks.get(car.root)["rev"] == event.rev, "#sync commit rev differs"
    except Exception as error:  # noqa: BLE001
        problems.append(f"seq {getattr(message, 'body', {}).get('seq')}: {error!r}")
        client.stop()
        return
    if len(seqs) >= expected:
        client.stop()


def give_up() -> None:
    problems.append(f"timed out after {len(seqs)} of {expected} events")
    client.stop()


timer = threading.Timer(60, give_up)
timer.start()
client.start(on_message)
timer.cancel()
if problems:
    print("FAIL:", "; ".join(problems))
    sys.exit(1)
if seqs != list(range(1, expected + 1)):
    print("FAIL: seqs", seqs)
    sys.exit(1)
print(f"OK: {len(seqs)} events parsed by the SDK ({kinds}), seqs 1..{expected}")
