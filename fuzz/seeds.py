"""Seeds the fuzz corpora from the golden records ZooKeeper 3.8 wrote
(crates/jute/testdata/golden.txt), so fuzzing starts from real client traffic.

records: each golden record alone.
frame_and_request: a handshake frame, then one framed request, as a client sends them.
Writes fuzz/corpus/<target>/golden-<name>; rerunning overwrites the same files.
"""

import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
GOLDEN = HERE.parent / "crates" / "jute" / "testdata" / "golden.txt"

# Golden request records by the op code a RequestHeader would carry (ZooDefs.OpCode).
REQUEST_OPS = {
    "create_request": 1,
    "create_request_null_data": 1,
    "delete_request": 2,
    "exists_request": 3,
    "get_data_request": 4,
    "set_data_request": 5,
    "get_acl_request": 6,
    "set_acl_request": 7,
    "get_children_request": 8,
    "sync_request": 9,
    "get_children2_request": 12,
    "check_version_request": 13,
    "multi_request": 14,
    "create_request_empty_data": 19,
    "reconfig_request": 16,
    "check_watches_request": 17,
    "remove_watches_request": 18,
    "create_ttl_request": 21,
    "multi_read_request": 22,
    "auth_packet": 100,
    "set_watches": 101,
    "get_ephemerals_request": 103,
    "get_all_children_number_request": 104,
    "set_watches2": 105,
    "add_watch_request": 106,
}


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def main() -> None:
    golden = {}
    for line in GOLDEN.read_text().splitlines():
        if line and not line.startswith("#"):
            name, hexed = line.split(" ", 1)
            golden[name] = bytes.fromhex(hexed)

    records = HERE / "corpus" / "records"
    records.mkdir(parents=True, exist_ok=True)
    for name, data in golden.items():
        (records / f"golden-{name}").write_bytes(data)

    frames = HERE / "corpus" / "frame_and_request"
    frames.mkdir(parents=True, exist_ok=True)
    handshake = frame(golden["connect_request"])
    for xid, (name, op) in enumerate(sorted(REQUEST_OPS.items()), start=1):
        request = frame(struct.pack(">ii", xid, op) + golden[name])
        (frames / f"golden-{name}").write_bytes(handshake + request)
    (frames / "golden-set_data_request_frame").write_bytes(
        handshake + golden["set_data_request_frame"]
    )


if __name__ == "__main__":
    main()
