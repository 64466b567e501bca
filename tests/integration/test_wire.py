"""Raw Kafka frames against the real broker: the rules clients rely on before any client library
gets involved. ApiVersions at every version (and at a future one, KIP-511), Metadata at every
version, response header versions, pipelining, and the connection closing on frames the broker
must not answer. Frames are built and parsed here by hand, independently of Quire's codec."""

import signal
import socket
import struct

import harness

API_VERSIONS, METADATA, PRODUCE = 18, 3, 0
UNSUPPORTED_VERSION, INVALID_REQUEST, UNKNOWN_TOPIC_OR_PARTITION = 35, 42, 3


def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def request(key, version, correlation, body, flexible, client_id=b"wire-test"):
    header = struct.pack(">hhih", key, version, correlation, len(client_id)) + client_id
    if flexible:
        header += b"\x00"  # header v2: no tagged fields
    frame = header + body
    return struct.pack(">i", len(frame)) + frame


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise AssertionError(f"response ends early at {self.pos} (+{n}): {self.data!r}")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int8(self):
        return struct.unpack(">b", self.take(1))[0]

    def int16(self):
        return struct.unpack(">h", self.take(2))[0]

    def int32(self):
        return struct.unpack(">i", self.take(4))[0]

    def uvarint(self):
        shift = value = 0
        while True:
            b = self.take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    def string(self, compact):
        n = self.uvarint() - 1 if compact else self.int16()
        return None if n < 0 else self.take(n).decode()

    def array_len(self, compact):
        return self.uvarint() - 1 if compact else self.int32()

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def done(self):
        return self.pos == len(self.data)


class Conn:
    def __init__(self, broker):
        self.sock = socket.create_connection((broker.host, broker.port), timeout=10)

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def response(self):
        size = struct.unpack(">i", self.recv_exact(4))[0]
        return self.recv_exact(size)

    def is_closed(self):
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def api_versions_body(version):
    if version < 3:
        return b""
    return uvarint(len(b"quire-wire") + 1) + b"quire-wire" + uvarint(4) + b"1.0" + b"\x00"


def parse_api_versions(payload, version):
    """Response header v0 always (no tagged fields), whatever the request version."""
    r = Reader(payload)
    correlation = r.int32()
    compact = version >= 3
    error = r.int16()
    apis = {}
    for _ in range(r.array_len(compact)):
        key, lo, hi = r.int16(), r.int16(), r.int16()
        if compact:
            r.skip_tags()
        apis[key] = (lo, hi)
    if version >= 1:
        r.int32()
    if compact:
        r.skip_tags()
    assert r.done(), f"{len(payload) - r.pos} trailing bytes"
    return correlation, error, apis


def metadata_body(version, topics):
    """topics None asks for all topics (v1+); at v0 all topics is the empty list."""
    flexible = version >= 9
    if topics is None:
        body = (b"\x00" if flexible else struct.pack(">i", -1)) if version >= 1 else struct.pack(">i", 0)
    else:
        body = uvarint(len(topics) + 1) if flexible else struct.pack(">i", len(topics))
        for name in topics:
            if version >= 10:
                body += bytes(16)
            enc = name.encode()
            body += (uvarint(len(enc) + 1) if flexible else struct.pack(">h", len(enc))) + enc
            if flexible:
                body += b"\x00"
    if version >= 4:
        body += b"\x00"  # AllowAutoTopicCreation=false
    if 8 <= version <= 10:
        body += b"\x00"
    if version >= 8:
        body += b"\x00"
    if flexible:
        body += b"\x00"
    return body


def parse_metadata(payload, version):
    flexible = version >= 9
    r = Reader(payload)
    out = {"correlation": r.int32()}
    if flexible:
        r.skip_tags()  # response header v1
    if version >= 3:
        out["throttle"] = r.int32()
    brokers = []
    for _ in range(r.array_len(flexible)):
        b = {"node_id": r.int32(), "host": r.string(flexible), "port": r.int32()}
        if version >= 1:
            b["rack"] = r.string(flexible)
        if flexible:
            r.skip_tags()
        brokers.append(b)
    out["brokers"] = brokers
    if version >= 2:
        out["cluster_id"] = r.string(flexible)
    if version >= 1:
        out["controller_id"] = r.int32()
    topics = []
    for _ in range(r.array_len(flexible)):
        t = {"error": r.int16(), "name": r.string(flexible)}
        if version >= 10:
            r.take(16)
        if version >= 1:
            r.int8()
        partitions = r.array_len(flexible)
        assert partitions == 0, partitions
        if version >= 8:
            r.int32()
        if flexible:
            r.skip_tags()
        topics.append(t)
    out["topics"] = topics
    if 8 <= version <= 10:
        r.int32()
    if version >= 13:
        out["error"] = r.int16()
    if flexible:
        r.skip_tags()
    assert r.done(), f"{len(payload) - r.pos} trailing bytes at v{version}"
    return out


class Wire(harness.BrokerTestCase):
    def connect(self, broker):
        conn = Conn(broker)
        self.addCleanup(conn.close)
        return conn

    def test_api_versions_at_every_version_lists_exactly_the_served_apis(self):
        broker = self.start_broker()
        conn = self.connect(broker)
        for version in range(0, 5):
            conn.send(request(API_VERSIONS, version, 100 + version, api_versions_body(version),
                              flexible=version >= 3))
            correlation, error, apis = parse_api_versions(conn.response(), version)
            self.assertEqual(correlation, 100 + version)
            self.assertEqual(error, 0)
            self.assertEqual(apis, {API_VERSIONS: (0, 4), METADATA: (0, 13)})

    def test_future_api_versions_gets_a_v0_answer_with_its_own_range(self):
        broker = self.start_broker()
        conn = self.connect(broker)
        conn.send(request(API_VERSIONS, 9, 7, b"\x01\x01\x00whatever", flexible=True))
        correlation, error, apis = parse_api_versions(conn.response(), 0)
        self.assertEqual((correlation, error), (7, UNSUPPORTED_VERSION))
        self.assertEqual(apis, {API_VERSIONS: (0, 4)})
        # The connection stays usable for a retry at a version both sides know.
        conn.send(request(API_VERSIONS, 3, 8, api_versions_body(3), flexible=True))
        self.assertEqual(parse_api_versions(conn.response(), 3)[:2], (8, 0))

    def test_api_versions_refuses_a_malformed_client_software_name(self):
        broker = self.start_broker()
        conn = self.connect(broker)
        body = uvarint(5) + b"-bad" + uvarint(4) + b"1.0" + b"\x00"
        conn.send(request(API_VERSIONS, 3, 1, body, flexible=True))
        _, error, apis = parse_api_versions(conn.response(), 3)
        self.assertEqual(error, INVALID_REQUEST)
        self.assertEqual(apis, {})

    def test_metadata_at_every_version(self):
        broker = self.start_broker(["node.id=4"])
        cluster_id = broker.read_meta_properties()["cluster.id"]
        conn = self.connect(broker)
        for version in range(0, 14):
            conn.send(request(METADATA, version, version, metadata_body(version, None),
                              flexible=version >= 9))
            md = parse_metadata(conn.response(), version)
            self.assertEqual(md["correlation"], version)
            self.assertEqual([(b["node_id"], b["host"], b["port"]) for b in md["brokers"]],
                             [(4, "127.0.0.1", broker.port)], f"v{version}")
            if version >= 1:
                self.assertEqual(md["controller_id"], 4)
                self.assertIsNone(md["brokers"][0]["rack"])
            if version >= 2:
                self.assertEqual(md["cluster_id"], cluster_id)
            self.assertEqual(md["topics"], [])

    def test_metadata_names_unknown_topics_at_old_and_new_versions(self):
        broker = self.start_broker(["auto.create.topics.enable=false"])
        conn = self.connect(broker)
        for version in (1, 9, 12):
            conn.send(request(METADATA, version, 1, metadata_body(version, ["a", "bb"]),
                              flexible=version >= 9))
            md = parse_metadata(conn.response(), version)
            self.assertEqual(md["topics"], [{"error": UNKNOWN_TOPIC_OR_PARTITION, "name": "a"},
                                            {"error": UNKNOWN_TOPIC_OR_PARTITION, "name": "bb"}])

    def test_pipelined_requests_are_answered_in_order(self):
        broker = self.start_broker()
        conn = self.connect(broker)
        batch = b"".join(
            request(METADATA, 12, 10 + i, metadata_body(12, None), flexible=True) if i % 2 else
            request(API_VERSIONS, 3, 10 + i, api_versions_body(3), flexible=True)
            for i in range(6))
        conn.send(batch)
        for i in range(6):
            payload = conn.response()
            self.assertEqual(struct.unpack(">i", payload[:4])[0], 10 + i)

    def test_oversized_frame_closes_the_connection(self):
        broker = self.start_broker(["socket.request.max.bytes=1000"])
        conn = self.connect(broker)
        conn.send(struct.pack(">i", 1001) + b"\x00" * 64)
        self.assertTrue(conn.is_closed())
        self.assertIn("socket.request.max.bytes", broker.log_text())

    def test_negative_length_closes_the_connection(self):
        broker = self.start_broker()
        conn = self.connect(broker)
        conn.send(struct.pack(">i", -5))
        self.assertTrue(conn.is_closed())

    def test_unserved_and_unknown_apis_close_the_connection(self):
        broker = self.start_broker()
        for key in (PRODUCE, 9999):
            conn = self.connect(broker)
            conn.send(request(key, 9, 1, b"\x00" * 8, flexible=True))
            self.assertTrue(conn.is_closed(), f"api key {key}")

    def test_undecodable_body_closes_the_connection(self):
        broker = self.start_broker()
        conn = self.connect(broker)
        # Metadata v1 announcing 1,000,000 topics in a 4-byte body.
        conn.send(request(METADATA, 1, 1, struct.pack(">i", 1000000), flexible=False))
        self.assertTrue(conn.is_closed())
        # The broker itself is fine.
        again = self.connect(broker)
        again.send(request(METADATA, 1, 2, metadata_body(1, None), flexible=False))
        self.assertEqual(parse_metadata(again.response(), 1)["correlation"], 2)

    def test_sigint_with_open_connections_stops_cleanly(self):
        broker = self.start_broker()
        conn = self.connect(broker)
        conn.send(request(API_VERSIONS, 0, 1, b"", flexible=False))
        conn.response()
        broker.proc.send_signal(signal.SIGINT)
        self.assertEqual(broker.proc.wait(10), 0)
        self.assertTrue(conn.is_closed())
        self.assertIn("SIGINT received", broker.log_text())


if __name__ == "__main__":
    harness.main()
