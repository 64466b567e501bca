"""How a plaintext connection reads frames: a frame longer than a read chunk (64 KiB) is read
straight into a buffer of its own once its length is in (broker/net.h). These tests drive the real
broker over raw sockets with large frames sent in odd pieces, cut off, stalled, beyond the cap,
behind other requests and pipelined, and check every answer and the records a Fetch reads back."""

import os
import socket
import struct
import threading
import time

import harness
import kafka_frames as kf
from kafka_frames import (API_VERSIONS, FETCH, METADATA, PRODUCE, Conn, api_versions_body,
                          fetch_body, metadata_body, parse_api_versions, parse_fetch,
                          parse_metadata, parse_produce, produce_body, producer_batch, request)

# ASan keeps freed memory in quarantine; keep it small so RSS reflects what the broker holds.
os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=8"

VALUE_BYTES = 60000
RECORDS_PER_BATCH = 16  # ~960 KB a batch: under max.message.bytes (1 MiB + 12)


def big_batch(tag):
    """A ~960 KB batch whose values all differ (tag, record index, byte position)."""
    ts = harness.now_ms()
    records = []
    for i in range(RECORDS_PER_BATCH):
        head = b"%s-%d-" % (tag.encode(), i)
        value = (head + bytes((j * 7 + i + len(tag)) & 0xFF for j in range(256)) * 256)
        records.append((b"k%d" % i, value[:VALUE_BYTES], ts + i))
    return producer_batch(records, ts)


def produce_frame(correlation, topic, batches, acks=-1):
    """A Produce v9 frame of one batch per partition (partition i gets batches[i])."""
    body = produce_body(9, [(topic, list(enumerate(batches)))], acks=acks, timeout_ms=30000)
    return request(PRODUCE, 9, correlation, body, flexible=True)


def stored_tail(raw):
    """A stored batch from its magic byte on: what the broker keeps as the producer sent it (the
    base offset and the partition leader epoch are the broker's)."""
    return raw[16:]


def wait_closed(conn, timeout_s):
    conn.sock.settimeout(timeout_s)
    try:
        while True:
            if conn.sock.recv(65536) == b"":
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def send_in_pieces(sock, data, sizes, pause_s):
    """Sends data in pieces of the given sizes (cycled), pausing between them."""
    pos, i = 0, 0
    while pos < len(data):
        n = sizes[i % len(sizes)]
        sock.sendall(data[pos:pos + n])
        pos += n
        i += 1
        time.sleep(pause_s)


class FrameReads(harness.BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.batches = [big_batch(f"b{i}") for i in range(3)]

    def connect(self, broker):
        conn = Conn(broker)
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sock.settimeout(30)
        self.addCleanup(conn.close)
        return conn

    def fetch_partition(self, broker, topic, partition):
        """Every batch of the partition, read with Fetch v12 from offset 0."""
        conn = self.connect(broker)
        out, offset = [], 0
        while True:
            body = fetch_body(12, [(topic, [(partition, offset, 8 << 20)])])
            resp = parse_fetch(conn.call(FETCH, 12, body, flexible=True), 12)
            [(_, [p])] = resp["topics"]
            self.assertEqual(p["error"], 0)
            got = kf.batches(p["records"] or b"")
            if not got:
                return out
            out += got
            offset = got[-1][1] + 1

    def assert_serving(self, broker):
        conn = self.connect(broker)
        conn.send(request(API_VERSIONS, 3, 77, api_versions_body(3), flexible=True))
        self.assertEqual(parse_api_versions(conn.response(), 3)[0:2], (77, 0))
        conn.close()

    def test_a_large_produce_sent_in_odd_pieces_and_a_request_behind_it_are_both_answered(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t", partitions=3)
        conn = self.connect(broker)
        frame = produce_frame(1, "t", self.batches)
        self.assertGreater(len(frame), 2800000)
        behind = request(METADATA, 12, 2, metadata_body(12, ["t"]), flexible=True)
        # the length split over two reads (the second with the frame's first bytes), then pieces
        # that straddle the read chunks; the last one carries the end of the Produce and the
        # whole Metadata request
        sizes = [1, 4099, 2, 65537, 1, 131071, 70001, 7, 300007, 65536, 99991, 3]
        send_in_pieces(conn.sock, frame[:-1000], sizes, 0.003)
        conn.send(frame[-1000:] + behind)
        [p0, p1, p2] = parse_produce(conn.response(), 9)
        self.assertEqual([(p["partition"], p["error"], p["base_offset"]) for p in (p0, p1, p2)],
                         [(0, 0, 0), (1, 0, 0), (2, 0, 0)])
        meta = parse_metadata(conn.response(), 12, detail=True)
        self.assertEqual(meta["correlation"], 2)
        self.assertEqual([(t["name"], t["error"]) for t in meta["topics"]], [("t", 0)])
        for partition, batch in enumerate(self.batches):
            [(base, last, _, raw)] = self.fetch_partition(broker, "t", partition)
            self.assertEqual((base, last), (0, RECORDS_PER_BATCH - 1))
            self.assertEqual(stored_tail(raw), stored_tail(batch), f"partition {partition}")

    def test_a_length_beyond_socket_request_max_bytes_closes_before_anything_is_read(self):
        cap = 1 << 20
        broker = self.start_broker([f"socket.request.max.bytes={cap}"])
        harness.create_topic(broker, "t", partitions=3)
        before = harness.rss_kib(broker.proc.pid)
        conns = []
        for length in (cap + 1, 64 << 20, 2**31 - 1):
            for _ in range(4):
                conn = self.connect(broker)
                # the length, then as much of the frame as the cap allows; the broker must not
                # wait for (or make room for) the rest
                try:
                    conn.send(struct.pack(">i", length) + b"\x00\x00\x00\x09" + bytes(200000))
                except (BrokenPipeError, ConnectionResetError):
                    pass
                conns.append((length, conn))
        for length, conn in conns:
            self.assertTrue(wait_closed(conn, 5), f"a frame of {length} bytes was not refused")
        self.assertIn("exceeds the limit of 1048576 (socket.request.max.bytes)", broker.log_text())
        grown = harness.rss_kib(broker.proc.pid) - before
        self.assertLess(grown, 16 * 1024, f"RSS grew by {grown} KiB")
        # a frame within the cap is read whole
        conn = self.connect(broker)
        frame = produce_frame(5, "t", [self.batches[0]])
        self.assertLess(len(frame) - 4, cap)
        conn.send(frame)
        [p] = parse_produce(conn.response(), 9)
        self.assertEqual((p["error"], p["base_offset"]), (0, 0))

    def test_large_frames_cut_off_by_eof_or_reset_leave_the_broker_serving(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t", partitions=3)
        frame = produce_frame(1, "t", self.batches)
        # cut: just the length and a few bytes, within the first chunk, after a megabyte, one
        # byte short; by a close (FIN) or a reset (RST)
        for cut in (10, 40000, 1 << 20, len(frame) - 1):
            for reset in (False, True):
                conn = self.connect(broker)
                conn.sock.sendall(frame[:cut])
                time.sleep(0.05)
                if reset:
                    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                         struct.pack("ii", 1, 0))
                conn.close()
        self.assert_serving(broker)
        # none of it was appended; a whole frame is, at offset 0
        conn = self.connect(broker)
        conn.send(frame)
        answer = parse_produce(conn.response(), 9)
        self.assertEqual([(p["error"], p["base_offset"]) for p in answer], [(0, 0)] * 3)
        self.assertEqual(len(self.fetch_partition(broker, "t", 1)), 1)
        # one more left half-read when the broker shuts down; its clean exit (checked when the
        # test ends) includes LeakSanitizer's verdict on all of them
        conn = self.connect(broker)
        conn.sock.sendall(frame[:1 << 20])
        time.sleep(0.05)

    def test_a_large_frame_stalled_midway_is_closed_after_the_read_timeout(self):
        broker = self.start_broker(["quire.request.read.timeout.ms=1000"])
        harness.create_topic(broker, "t", partitions=3)
        frame = produce_frame(1, "t", self.batches)
        conn = self.connect(broker)
        conn.sock.sendall(frame[:1 << 20])
        start = time.monotonic()
        self.assertTrue(wait_closed(conn, 10), "a stalled frame kept its connection open")
        self.assertGreater(time.monotonic() - start, 0.5)
        # what had arrived of it, its length included
        broker.wait_for_log(r"quire.request.read.timeout.ms=1000 \(%d bytes so far\)" % (1 << 20))
        self.assert_serving(broker)

    def test_large_pipelined_acks_all_produces_are_answered_in_order(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t", partitions=3)
        conn = self.connect(broker)
        count = 8  # ~23 MB of frames: beyond CONN_PIPELINE_BYTES (16 MiB), so some wait
        frames = b"".join(produce_frame(i + 1, "t", self.batches[i % 3:] + self.batches[:i % 3])
                          for i in range(count))
        behind = request(API_VERSIONS, 3, count + 1, api_versions_body(3), flexible=True)
        sender = threading.Thread(target=conn.sock.sendall, args=(frames + behind,))
        sender.start()
        for i in range(count):
            payload = conn.response()
            self.assertEqual(struct.unpack(">i", payload[:4])[0], i + 1, "responses out of order")
            self.assertEqual([(p["partition"], p["error"], p["base_offset"])
                              for p in parse_produce(payload, 9)],
                             [(n, 0, i * RECORDS_PER_BATCH) for n in range(3)])
        self.assertEqual(parse_api_versions(conn.response(), 3)[0:2], (count + 1, 0))
        sender.join()
        for partition in range(3):
            got = self.fetch_partition(broker, "t", partition)
            self.assertEqual([base for base, _, _, _ in got],
                             [i * RECORDS_PER_BATCH for i in range(count)])
            for i, (_, _, _, raw) in enumerate(got):
                sent = self.batches[(partition + i) % 3]
                self.assertEqual(stored_tail(raw), stored_tail(sent), f"{partition}/{i}")

    def test_large_frames_of_other_requests_are_answered_and_the_next_one_is_intact(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t")
        conn = self.connect(broker)
        # a Metadata frame of ~200 KB (unknown topics), answered at once, then a small request
        names = ["missing-topic-%06d-%s" % (i, "x" * 40) for i in range(3000)]
        big_meta = request(METADATA, 12, 1, metadata_body(12, names), flexible=True)
        self.assertGreater(len(big_meta), 150000)
        conn.send(big_meta + request(API_VERSIONS, 3, 2, api_versions_body(3), flexible=True))
        meta = parse_metadata(conn.response(), 12)
        self.assertEqual((meta["correlation"], len(meta["topics"])), (1, 3000))
        self.assertEqual(parse_api_versions(conn.response(), 3)[0:2], (2, 0))
        # a Fetch of ~100 KB (an unknown tagged field) that waits for data, with a Produce behind
        # it: the Fetch is answered first, empty, as if the Produce had come on its own
        body = fetch_body(12, [("t", [(0, 0, 1 << 20)])], max_wait_ms=500)
        blob = bytes(range(256)) * 400
        body = body[:-1] + kf.uvarint(1) + kf.uvarint(1000) + kf.uvarint(len(blob)) + blob
        big_fetch = request(FETCH, 12, 3, body, flexible=True)
        start = time.monotonic()
        conn.send(big_fetch + produce_frame(4, "t", [self.batches[0]]))
        resp = parse_fetch(conn.response(), 12)
        [(_, [p])] = resp["topics"]
        self.assertEqual((resp["correlation"], p["error"], p["records"] or b""), (3, 0, b""))
        self.assertGreater(time.monotonic() - start, 0.4)
        [p] = parse_produce(conn.response(), 9)
        self.assertEqual((p["error"], p["base_offset"]), (0, 0))


if __name__ == "__main__":
    harness.main()
