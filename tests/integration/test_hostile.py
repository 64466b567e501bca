"""Hostile input: whatever a socket sends, the broker answers as Kafka would or closes that one
connection, keeps serving everyone else, and its memory stays bounded."""

import os
import random
import socket
import struct
import threading
import time

import harness
from kafka_frames import (API_VERSIONS, METADATA, Conn, api_versions_body, metadata_body,
                          parse_api_versions, parse_metadata, request, uvarint)

# ASan keeps freed memory in quarantine; keep it small so RSS reflects what the broker holds.
os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=8"


def wait_closed(conn, timeout_s):
    conn.sock.settimeout(timeout_s)
    try:
        return conn.is_closed()
    except socket.timeout:
        return False


class Hostile(harness.BrokerTestCase):
    def connect(self, broker):
        conn = Conn(broker)
        self.addCleanup(conn.close)
        return conn

    def assert_serving(self, broker):
        conn = self.connect(broker)
        conn.send(request(METADATA, 12, 99, metadata_body(12, None), flexible=True))
        self.assertEqual(parse_metadata(conn.response(), 12)["correlation"], 99)
        conn.close()

    def assert_closes(self, broker, data, what):
        conn = self.connect(broker)
        try:
            conn.send(data)
        except (BrokenPipeError, ConnectionResetError):
            return
        self.assertTrue(wait_closed(conn, 5), f"{what}: connection still open")
        conn.close()

    def test_bad_frame_lengths_close_the_connection(self):
        broker = self.start_broker(["socket.request.max.bytes=65536"])
        for length in (-1, -2**31, 2**31 - 1, 65537, 1):
            self.assert_closes(broker, struct.pack(">i", length) + b"\x00\x12",
                               f"length {length}")
        self.assert_serving(broker)

    def test_huge_counts_and_lengths_close_the_connection(self):
        broker = self.start_broker()
        cases = {
            "array count 2^31-1": request(METADATA, 1, 1, struct.pack(">i", 2**31 - 1), False),
            "compact array count 2^31-2": request(METADATA, 9, 1, uvarint(2**31 - 1), True),
            "string of 32767 bytes, 3 present": request(
                METADATA, 1, 1, struct.pack(">ih", 1, 32767) + b"abc", False),
            "client id longer than the frame": struct.pack(">ihhih", 10, API_VERSIONS, 0, 1, 500),
            "varint of six bytes": request(METADATA, 9, 1, b"\x80\x80\x80\x80\x80\x01", True),
            "tag count beyond the input": request(
                METADATA, 12, 1, b"\x01" + b"\x00\x00" + b"\x7f", True),
        }
        for what, data in cases.items():
            self.assert_closes(broker, data, what)
        self.assert_serving(broker)

    def test_every_truncation_of_a_request_closes_the_connection(self):
        broker = self.start_broker()
        full = request(METADATA, 12, 5, metadata_body(12, ["some-topic"]), True)[4:]
        for cut in range(len(full)):
            self.assert_closes(broker, struct.pack(">i", cut) + full[:cut], f"cut at {cut}")
        self.assert_serving(broker)

    def test_random_garbage_never_harms_the_broker(self):
        broker = self.start_broker(["socket.request.max.bytes=4096"])
        rng = random.Random(20261125)
        before = harness.rss_kib(broker.proc.pid)
        for i in range(300):
            body = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200)))
            if i % 2:  # a plausible header with a random body
                key = rng.choice((API_VERSIONS, METADATA))
                body = struct.pack(">hhi", key, rng.randrange(-1, 16), i) + body
            conn = Conn(broker)
            try:
                conn.send(struct.pack(">i", len(body)) + body)
                conn.sock.settimeout(5)
                conn.sock.recv(65536)  # an answer or the close; either is fine
            except (ConnectionError, socket.timeout):
                pass
            finally:
                conn.close()
        self.assert_serving(broker)
        grown = harness.rss_kib(broker.proc.pid) - before
        self.assertLess(grown, 32 * 1024, f"RSS grew by {grown} KiB")

    def test_a_frame_trickling_in_is_closed(self):
        broker = self.start_broker(["quire.request.read.timeout.ms=1500"])
        frame = request(API_VERSIONS, 0, 1, b"", False)
        conn = self.connect(broker)
        start = time.monotonic()
        closed = False
        for b in frame:
            try:
                conn.send(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if wait_closed(conn, 0.4):
                closed = True
                break
            self.assert_serving(broker)  # others are served meanwhile
        self.assertTrue(closed, "a trickling frame was answered")
        self.assertLess(time.monotonic() - start, 5)
        self.assertIn("quire.request.read.timeout.ms", broker.log_text())

    def test_idle_connections_are_closed(self):
        broker = self.start_broker(["connections.max.idle.ms=1000"])
        conns = [self.connect(broker) for _ in range(50)]
        conns[0].send(request(API_VERSIONS, 0, 1, b"", False))
        conns[0].response()
        for conn in conns:
            self.assertTrue(wait_closed(conn, 5))
        self.assert_serving(broker)

    def test_connections_per_ip_are_limited(self):
        broker = self.start_broker(["max.connections.per.ip=5"])
        conns = [self.connect(broker) for _ in range(5)]
        for i, conn in enumerate(conns):
            conn.send(request(API_VERSIONS, 0, i, b"", False))
            self.assertEqual(parse_api_versions(conn.response(), 0)[0], i)
        extra = self.connect(broker)
        self.assertTrue(wait_closed(extra, 5), "a sixth connection from one ip was kept")
        self.assertIn("max.connections.per.ip=5", broker.log_text())
        conns[0].close()
        time.sleep(0.2)
        self.assert_serving(broker)

    def test_max_connections_makes_new_ones_wait(self):
        broker = self.start_broker(["max.connections=3"])
        conns = [self.connect(broker) for _ in range(3)]
        for i, conn in enumerate(conns):
            conn.send(request(API_VERSIONS, 0, i, b"", False))
            conn.response()
        waiting = self.connect(broker)  # queued by the kernel, not accepted yet
        waiting.send(request(API_VERSIONS, 0, 42, b"", False))
        waiting.sock.settimeout(1)
        with self.assertRaises(socket.timeout):
            waiting.sock.recv(1)
        conns[0].close()
        waiting.sock.settimeout(5)
        self.assertEqual(parse_api_versions(waiting.response(), 0)[0], 42)

    def test_a_client_that_does_not_read_is_muted_and_loses_nothing(self):
        # With 4 responses queued the broker stops reading this client; the kernel buffers
        # (socket.send/receive.buffer.bytes) then fill and the client's sends block, instead of
        # the broker buffering every response of a client that never reads.
        broker = self.start_broker(["queued.max.requests=4"])
        count = 40000
        body = api_versions_body(3)
        batch = b"".join(request(API_VERSIONS, 3, i, body, True) for i in range(count))
        conn = Conn(broker, sndbuf=4096, rcvbuf=4096)
        self.addCleanup(conn.close)
        before = harness.rss_kib(broker.proc.pid)
        conn.sock.settimeout(1)
        sent = 0
        try:
            while sent < len(batch):
                sent += conn.sock.send(batch[sent:sent + 4096])
        except socket.timeout:
            pass
        grown = harness.rss_kib(broker.proc.pid) - before
        self.assertLess(sent, len(batch) // 2, "the broker kept reading a client that does not")
        self.assertLess(grown, 16 * 1024, f"RSS grew by {grown} KiB")
        # Reading resumes both ways: every request answered, in order.
        reader = threading.Thread(target=conn.sock.sendall, args=(batch[sent:],))
        conn.sock.settimeout(20)
        reader.start()
        for i in range(count):
            correlation, error, _ = parse_api_versions(conn.response(), 3)
            self.assertEqual((correlation, error), (i, 0))
        reader.join()

if __name__ == "__main__":
    harness.main()
