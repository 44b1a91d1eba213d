"""The offline spool's file: complete records read back, a torn or corrupt tail reported."""

from __future__ import annotations

from pathlib import Path

from runstream.sdk.spool import encode_record, read_spool


def test_complete_records_come_back_and_a_torn_tail_is_measured(tmp_path: Path) -> None:
    path = tmp_path / "events.spool"
    records = [encode_record(i % 2 == 1, f"run-{i}".encode(), b"x" * i) for i in range(5)]
    torn = encode_record(False, b"run-9", b"cut short")[:-3]
    path.write_bytes(b"".join(records) + torn)
    events, torn_bytes = read_spool(path)
    assert [(e.registry, e.key, e.value) for e in events] == [
        (i % 2 == 1, f"run-{i}".encode(), b"x" * i) for i in range(5)
    ]
    assert torn_bytes == len(torn)


def test_reading_stops_at_a_record_whose_checksum_fails(tmp_path: Path) -> None:
    path = tmp_path / "events.spool"
    good, bad = encode_record(False, b"k", b"good"), bytearray(encode_record(False, b"k", b"bad!"))
    bad[-1] ^= 0xFF
    path.write_bytes(good + bytes(bad) + good)
    events, torn_bytes = read_spool(path)
    assert [e.value for e in events] == [b"good"]
    assert torn_bytes == len(bad) + len(good)
    assert read_spool(tmp_path / "missing.spool") == ([], 0)
