"""Kafka frames built and parsed by hand, independently of Quire's codec, for the tests that
talk to the broker below any client library."""

import socket
import struct

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
    def __init__(self, broker, sndbuf=None, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if sndbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect((broker.host, broker.port))

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
