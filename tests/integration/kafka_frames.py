"""Kafka frames built and parsed by hand, independently of Quire's codec, for the tests that
talk to the broker below any client library."""

import base64
import socket
import struct

API_VERSIONS, METADATA, PRODUCE = 18, 3, 0
DESCRIBE_CONFIGS, INCREMENTAL_ALTER_CONFIGS, DESCRIBE_CLUSTER = 32, 44, 60
DESCRIBE_TOPIC_PARTITIONS, LIST_CONFIG_RESOURCES = 75, 74
CREATE_TOPICS, DESCRIBE_LOG_DIRS = 19, 35
DELETE_TOPICS = 20
UNSUPPORTED_VERSION, INVALID_REQUEST, UNKNOWN_TOPIC_OR_PARTITION = 35, 42, 3
LEADER_NOT_AVAILABLE, INVALID_CONFIG = 5, 40
RESOURCE_TOPIC, RESOURCE_BROKER = 2, 4
OP_SET, OP_DELETE, OP_APPEND, OP_SUBTRACT = 0, 1, 2, 3


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

    def int64(self):
        return struct.unpack(">q", self.take(8))[0]

    def bool(self):
        return self.take(1) != b"\x00"

    def uuid(self):
        """A Kafka Uuid as Kafka prints it: base64url without padding."""
        return uuid_str(self.take(16))

    def int32_array(self, compact):
        n = self.array_len(compact)
        return None if n < 0 else [self.int32() for _ in range(n)]

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


def uuid_str(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


ZERO_UUID = uuid_str(bytes(16))


class Writer:
    """Builds a request body; flexible selects compact strings/arrays and tagged-field sections."""

    def __init__(self, flexible):
        self.flexible = flexible
        self.buf = bytearray()

    def int8(self, v):
        self.buf += struct.pack(">b", v)
        return self

    def bool(self, v):
        return self.int8(1 if v else 0)

    def int16(self, v):
        self.buf += struct.pack(">h", v)
        return self

    def int32(self, v):
        self.buf += struct.pack(">i", v)
        return self

    def string(self, s):
        if s is None:
            self.buf += uvarint(0) if self.flexible else struct.pack(">h", -1)
        else:
            enc = s.encode()
            self.buf += (uvarint(len(enc) + 1) if self.flexible else struct.pack(">h", len(enc)))
            self.buf += enc
        return self

    def array(self, items, each):
        """items None writes a null array; each(writer, item) writes one element."""
        if items is None:
            self.buf += uvarint(0) if self.flexible else struct.pack(">i", -1)
            return self
        self.buf += uvarint(len(items) + 1) if self.flexible else struct.pack(">i", len(items))
        for item in items:
            each(self, item)
        return self

    def tags(self):
        if self.flexible:
            self.buf += b"\x00"
        return self

    def bytes(self):
        return bytes(self.buf)


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

    def call(self, key, version, body, flexible, correlation=1):
        """Sends one request and returns its response payload (header included)."""
        self.send(request(key, version, correlation, body, flexible))
        return self.response()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


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


def metadata_body(version, topics, allow_auto_create=False):
    """topics None asks for all topics (v1+); at v0 all topics is the empty list.
    allow_auto_create is the v4+ AllowAutoTopicCreation flag (v0-3 imply true)."""
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
        body += b"\x01" if allow_auto_create else b"\x00"  # AllowAutoTopicCreation
    if 8 <= version <= 10:
        body += b"\x00"
    if version >= 8:
        body += b"\x00"
    if flexible:
        body += b"\x00"
    return body


def parse_metadata(payload, version, detail=False):
    """Topics are {"error", "name"}; with detail also "topic_id" (v10+), "internal" (v1+) and
    "partitions": [{"error", "partition", "leader", "leader_epoch" (v7+), "replicas", "isr"}]."""
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
        extra = {}
        if version >= 10:
            extra["topic_id"] = r.uuid()
        if version >= 1:
            extra["internal"] = r.bool()
        partitions = []
        for _ in range(r.array_len(flexible)):
            p = {"error": r.int16(), "partition": r.int32(), "leader": r.int32()}
            if version >= 7:
                p["leader_epoch"] = r.int32()
            p["replicas"] = r.int32_array(flexible)
            p["isr"] = r.int32_array(flexible)
            if version >= 5:
                p["offline"] = r.int32_array(flexible)
            if flexible:
                r.skip_tags()
            partitions.append(p)
        extra["partitions"] = partitions
        if version >= 8:
            r.int32()
        if flexible:
            r.skip_tags()
        if detail:
            t.update(extra)
        else:
            assert partitions == [], partitions
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


def metadata(broker, topics=None, version=12, allow_auto_create=False):
    """One Metadata request on a fresh connection; the parsed response with topic detail."""
    with Conn(broker) as conn:
        payload = conn.call(METADATA, version, metadata_body(version, topics, allow_auto_create),
                            flexible=version >= 9)
    return parse_metadata(payload, version, detail=True)


def create_topics(broker, topics):
    """CreateTopics v7 (flexible); topics: [(name, partitions, {config: value})]. Returns
    {name: error code}."""
    w = Writer(True)

    def topic(w, t):
        name, partitions, configs = t
        w.string(name).int32(partitions).int16(1).array([], None)
        w.array(sorted(configs.items()), lambda w, kv: w.string(kv[0]).string(kv[1]).tags())
        w.tags()

    body = w.array(topics, topic).int32(10000).bool(False).tags().bytes()
    with Conn(broker) as conn:
        r = Reader(conn.call(CREATE_TOPICS, 7, body, flexible=True))
    r.int32()
    r.skip_tags()
    r.int32()
    out = {}
    for _ in range(r.array_len(True)):
        name = r.string(True)
        r.take(16)
        error = r.int16()
        r.string(True)
        r.int32()
        r.int16()
        for _ in range(max(r.array_len(True), 0)):
            r.string(True), r.string(True), r.bool(), r.int8(), r.bool()
            r.skip_tags()
        r.skip_tags()
        out[name] = error
    return out


def delete_topics(broker, names):
    """DeleteTopics v6 (flexible) by name. Returns {name: error code}."""
    def topic(w, name):
        w.string(name)
        w.buf += bytes(16)  # topic id: zero, the name decides
        w.tags()

    w = Writer(True)
    w.array(names, topic)
    body = w.int32(10000).tags().bytes()
    with Conn(broker) as conn:
        r = Reader(conn.call(DELETE_TOPICS, 6, body, flexible=True))
    r.int32()
    r.skip_tags()
    r.int32()
    out = {}
    for _ in range(r.array_len(True)):
        name = r.string(True)
        r.take(16)
        error = r.int16()
        r.string(True)
        r.skip_tags()
        out[name] = error
    return out


def listed_topics(broker, version=12):
    """{name: topic} of an all-topics Metadata request, for topics without an error."""
    return {t["name"]: t for t in metadata(broker, None, version)["topics"] if t["error"] == 0}


def incremental_alter_configs_body(version, resources, validate_only=False):
    """resources: [(resource_type, name, [(config_name, op, value_or_None), ...]), ...]"""
    w = Writer(version >= 1)

    def config(w, c):
        w.string(c[0]).int8(c[1]).string(c[2]).tags()

    def resource(w, res):
        w.int8(res[0]).string(res[1]).array(res[2], config).tags()

    return w.array(resources, resource).bool(validate_only).tags().bytes()


def parse_alter_configs_response(payload, flexible):
    """AlterConfigs / IncrementalAlterConfigs response: {(type, name): (error, message)}."""
    r = Reader(payload)
    r.int32()
    if flexible:
        r.skip_tags()
    r.int32()  # throttle
    out = {}
    for _ in range(r.array_len(flexible)):
        error, message = r.int16(), r.string(flexible)
        rtype, name = r.int8(), r.string(flexible)
        if flexible:
            r.skip_tags()
        out[(rtype, name)] = (error, message)
    if flexible:
        r.skip_tags()
    assert r.done(), f"{len(payload) - r.pos} trailing bytes"
    return out


def describe_configs_body(version, resources, synonyms=False, documentation=False):
    """resources: [(resource_type, name, keys_or_None), ...]"""
    w = Writer(version >= 4)

    def resource(w, res):
        w.int8(res[0]).string(res[1]).array(res[2], lambda w, k: w.string(k)).tags()

    w.array(resources, resource)
    if version >= 1:
        w.bool(synonyms)
    if version >= 3:
        w.bool(documentation)
    return w.tags().bytes()


def parse_describe_configs(payload, version):
    """[{"error", "message", "type", "name", "configs": {name: {"value", "read_only", "source",
    "sensitive", "synonyms": [(name, value, source)], "type", "doc"}}}] in response order."""
    flexible = version >= 4
    r = Reader(payload)
    r.int32()
    if flexible:
        r.skip_tags()
    r.int32()
    results = []
    for _ in range(r.array_len(flexible)):
        res = {"error": r.int16(), "message": r.string(flexible), "type": r.int8(),
               "name": r.string(flexible), "configs": {}}
        for _ in range(r.array_len(flexible)):
            name = r.string(flexible)
            c = {"value": r.string(flexible), "read_only": r.bool()}
            if version >= 1:
                c["source"] = r.int8()
            c["sensitive"] = r.bool()
            if version >= 1:
                c["synonyms"] = []
                for _ in range(r.array_len(flexible)):
                    c["synonyms"].append((r.string(flexible), r.string(flexible), r.int8()))
                    if flexible:
                        r.skip_tags()
            if version >= 3:
                c["type"] = r.int8()
                c["doc"] = r.string(flexible)
            if flexible:
                r.skip_tags()
            res["configs"][name] = c
        if flexible:
            r.skip_tags()
        results.append(res)
    if flexible:
        r.skip_tags()
    assert r.done(), f"{len(payload) - r.pos} trailing bytes"
    return results


def describe_cluster_body(version, endpoint_type=1, include_fenced=False):
    w = Writer(True).bool(False)
    if version >= 1:
        w.int8(endpoint_type)
    if version >= 2:
        w.bool(include_fenced)
    return w.tags().bytes()


def parse_describe_cluster(payload, version):
    r = Reader(payload)
    r.int32()
    r.skip_tags()
    out = {"throttle": r.int32(), "error": r.int16(), "message": r.string(True)}
    if version >= 1:
        out["endpoint_type"] = r.int8()
    out["cluster_id"] = r.string(True)
    out["controller_id"] = r.int32()
    brokers = []
    for _ in range(r.array_len(True)):
        b = {"node_id": r.int32(), "host": r.string(True), "port": r.int32(),
             "rack": r.string(True)}
        if version >= 2:
            b["fenced"] = r.bool()
        r.skip_tags()
        brokers.append(b)
    out["brokers"] = brokers
    out["authorized_operations"] = r.int32()
    r.skip_tags()
    assert r.done(), f"{len(payload) - r.pos} trailing bytes"
    return out


def describe_topic_partitions_body(topics, limit, cursor=None):
    """cursor: None or (topic_name, partition_index)."""
    w = Writer(True)
    w.array(topics, lambda w, t: w.string(t).tags()).int32(limit)
    if cursor is None:
        w.int8(-1)
    else:
        w.int8(1).string(cursor[0]).int32(cursor[1]).tags()
    return w.tags().bytes()


def parse_describe_topic_partitions(payload):
    """{"topics": [{"error", "name", "topic_id", "internal", "partitions": [...]}],
    "next_cursor": None or (topic_name, partition_index)}"""
    r = Reader(payload)
    r.int32()
    r.skip_tags()
    r.int32()
    topics = []
    for _ in range(r.array_len(True)):
        t = {"error": r.int16(), "name": r.string(True), "topic_id": r.uuid(),
             "internal": r.bool(), "partitions": []}
        for _ in range(r.array_len(True)):
            p = {"error": r.int16(), "partition": r.int32(), "leader": r.int32(),
                 "leader_epoch": r.int32(), "replicas": r.int32_array(True),
                 "isr": r.int32_array(True), "elr": r.int32_array(True),
                 "last_known_elr": r.int32_array(True), "offline": r.int32_array(True)}
            r.skip_tags()
            t["partitions"].append(p)
        r.int32()  # authorized operations
        r.skip_tags()
        topics.append(t)
    cursor = None
    if r.int8() >= 0:
        cursor = (r.string(True), r.int32())
        r.skip_tags()
    r.skip_tags()
    assert r.done(), f"{len(payload) - r.pos} trailing bytes"
    return {"topics": topics, "next_cursor": cursor}


def list_config_resources_body(version, resource_types=()):
    w = Writer(True)
    if version >= 1:
        w.array(list(resource_types), lambda w, t: w.int8(t))
    return w.tags().bytes()


def parse_list_config_resources(payload, version):
    """{"error", "resources": [(name, type)]} (type None at v0)."""
    r = Reader(payload)
    r.int32()
    r.skip_tags()
    r.int32()
    out = {"error": r.int16(), "resources": []}
    for _ in range(r.array_len(True)):
        name = r.string(True)
        rtype = r.int8() if version >= 1 else None
        r.skip_tags()
        out["resources"].append((name, rtype))
    r.skip_tags()
    assert r.done(), f"{len(payload) - r.pos} trailing bytes"
    return out


def describe_log_dirs_body(version, topics=None):
    """topics: None for every partition, else [(topic, [partition, ...])]."""
    w = Writer(version >= 2)

    def topic(w, t):
        w.string(t[0]).array(t[1], lambda w, p: w.int32(p)).tags()

    return w.array(topics, topic).tags().bytes()


def parse_describe_log_dirs(payload, version):
    """{"error" (v3+), "results": [{"error", "log_dir", "partitions": {(topic, partition):
    (size, offset_lag, is_future)}, "total_bytes", "usable_bytes" (v4+), "cordoned" (v5+)}]}"""
    flexible = version >= 2
    r = Reader(payload)
    r.int32()
    if flexible:
        r.skip_tags()
    r.int32()
    out = {"error": r.int16() if version >= 3 else None, "results": []}
    for _ in range(r.array_len(flexible)):
        res = {"error": r.int16(), "log_dir": r.string(flexible), "partitions": {}}
        for _ in range(r.array_len(flexible)):
            name = r.string(flexible)
            for _ in range(r.array_len(flexible)):
                index = r.int32()
                res["partitions"][(name, index)] = (r.int64(), r.int64(), r.bool())
                if flexible:
                    r.skip_tags()
            if flexible:
                r.skip_tags()
        if version >= 4:
            res["total_bytes"], res["usable_bytes"] = r.int64(), r.int64()
        if version >= 5:
            res["cordoned"] = r.bool()
        if flexible:
            r.skip_tags()
        out["results"].append(res)
    if flexible:
        r.skip_tags()
    assert r.done(), f"{len(payload) - r.pos} trailing bytes"
    return out


# ---- records, Produce, Fetch, ListOffsets, DeleteRecords, OffsetForLeaderEpoch (issue 6) ----

FETCH, LIST_OFFSETS, DELETE_RECORDS, OFFSET_FOR_LEADER_EPOCH = 1, 2, 21, 23
OFFSET_OUT_OF_RANGE, NOT_LEADER_OR_FOLLOWER, POLICY_VIOLATION = 1, 6, 44
FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH = 70, 71
FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH = 74, 75
UNKNOWN_TOPIC_ID, FETCH_SESSION_TOPIC_ID_ERROR = 100, 106


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(n):
    """A zigzag varint (record fields)."""
    return uvarint((n << 1) ^ (n >> 63))


def record_batch(records, base_timestamp, base_offset=0):
    """An uncompressed RecordBatch v2 (no producer id); records: [(key, value, timestamp)], key
    and value bytes or None. Timestamps are absolute milliseconds."""
    body = b""
    max_ts = base_timestamp
    for i, (key, value, ts) in enumerate(records):
        max_ts = max(max_ts, ts)
        rec = b"\x00" + varint(ts - base_timestamp) + varint(i)
        rec += varint(-1) if key is None else varint(len(key)) + key
        rec += varint(-1) if value is None else varint(len(value)) + value
        rec += varint(0)  # no headers
        body += varint(len(rec)) + rec
    after_crc = struct.pack(">hiqqqhii", 0, len(records) - 1, base_timestamp, max_ts, -1, -1, -1,
                            len(records)) + body
    crc = crc32c(after_crc)
    tail = struct.pack(">ibI", -1, 2, crc) + after_crc  # partitionLeaderEpoch, magic, crc
    return struct.pack(">qi", base_offset, len(tail)) + tail


def batches(data):
    """Splits record bytes into [(base_offset, last_offset, leader_epoch, raw batch bytes)]."""
    out, pos = [], 0
    while pos + 12 <= len(data):
        base, length = struct.unpack(">qi", data[pos:pos + 12])
        if pos + 12 + length > len(data):
            break  # a partial batch at the end
        raw = data[pos:pos + 12 + length]
        epoch = struct.unpack(">i", raw[12:16])[0]
        last_delta = struct.unpack(">i", raw[23:27])[0]
        out.append((base, base + last_delta, epoch, raw))
        pos += 12 + length
    return out


def produce(broker_or_conn, topic, partition, batch, acks=-1, version=9):
    """Produce v9 (flexible) of one batch; returns (error, base offset)."""
    w = Writer(True)
    w.string(None).int16(acks).int32(10000)

    def topic_data(w, _):
        w.string(topic)

        def part(w, _):
            w.int32(partition)
            w.buf += uvarint(len(batch) + 1) + batch
            w.tags()
        w.array([0], part).tags()
    w.array([0], topic_data).tags()
    conn = broker_or_conn if isinstance(broker_or_conn, Conn) else Conn(broker_or_conn)
    try:
        r = Reader(conn.call(PRODUCE, version, w.bytes(), flexible=True))
    finally:
        if conn is not broker_or_conn:
            conn.close()
    r.int32()
    r.skip_tags()
    result = None
    for _ in range(r.array_len(True)):
        r.string(True)
        for _ in range(r.array_len(True)):
            r.int32()
            error, base = r.int16(), r.int64()
            r.int64()
            r.int64()
            for _ in range(r.array_len(True)):
                r.int32()
                r.string(True)
                r.skip_tags()
            r.string(True)
            r.skip_tags()
            result = (error, base)
        r.skip_tags()
    return result


def fetch_body(version, topics, max_wait_ms=0, min_bytes=1, max_bytes=0x7FFFFFFF, isolation=0,
               session_id=0, session_epoch=-1, forgotten=(), replica_id=-1):
    """topics: [(name or 16-byte id, [(partition, offset, partition max bytes[, current leader
    epoch[, last fetched epoch]])])]; forgotten: [(name or id, [partitions])] (v7+)."""
    flexible = version >= 12
    w = Writer(flexible)
    if version <= 14:
        w.int32(replica_id)
    w.int32(max_wait_ms).int32(min_bytes).int32(max_bytes).int8(isolation)
    if version >= 7:
        w.int32(session_id).int32(session_epoch)

    def topic_key(w, key):
        if version >= 13:
            w.buf += key
        else:
            w.string(key)

    def part(w, p):
        index, offset, pmax = p[:3]
        w.int32(index)
        if version >= 9:
            w.int32(p[3] if len(p) > 3 else -1)
        w.buf += struct.pack(">q", offset)
        if version >= 12:
            w.int32(p[4] if len(p) > 4 else -1)
        if version >= 5:
            w.buf += struct.pack(">q", -1)
        w.int32(pmax)
        w.tags()

    def topic(w, t):
        topic_key(w, t[0])
        w.array(t[1], part).tags()
    w.array(list(topics), topic)
    if version >= 7:
        def forget(w, f):
            topic_key(w, f[0])
            w.array(list(f[1]), lambda w, p: w.int32(p)).tags()
        w.array(list(forgotten), forget)
    if version >= 11:
        w.string("")
    if flexible and version >= 15 and replica_id != -1:
        state = struct.pack(">iq", replica_id, -1) + b"\x00"
        w.buf += uvarint(1) + uvarint(1) + uvarint(len(state)) + state
    else:
        w.tags()
    return w.bytes()


def parse_fetch(payload, version):
    """{"correlation", "error", "session_id", "topics": [(name or id, [partition dict])],
    "node_endpoints"}; a partition dict has "partition", "error", "high_watermark",
    "last_stable_offset", "log_start_offset", "aborted" (None or a list), "preferred_read_replica",
    "records" (bytes or None), and "diverging_epoch" / "current_leader" when tagged."""
    flexible = version >= 12
    r = Reader(payload)
    out = {"correlation": r.int32(), "node_endpoints": {}}
    if flexible:
        r.skip_tags()
    r.int32()
    out["error"] = r.int16() if version >= 7 else 0
    out["session_id"] = r.int32() if version >= 7 else 0
    topics = []
    for _ in range(r.array_len(flexible)):
        key = r.take(16) if version >= 13 else r.string(flexible)
        parts = []
        for _ in range(r.array_len(flexible)):
            p = {"partition": r.int32(), "error": r.int16(), "high_watermark": r.int64(),
                 "last_stable_offset": r.int64()}
            p["log_start_offset"] = r.int64() if version >= 5 else None
            n = r.array_len(flexible)
            p["aborted"] = None if n < 0 else [(r.int64(), r.int64(), flexible and r.skip_tags())
                                               for _ in range(n)]
            p["preferred_read_replica"] = r.int32() if version >= 11 else -1
            size = r.uvarint() - 1 if flexible else r.int32()
            p["records"] = None if size < 0 else r.take(size)
            if flexible:
                for _ in range(r.uvarint()):
                    tag, tag_size = r.uvarint(), r.uvarint()
                    sub = Reader(r.take(tag_size))
                    if tag == 0:
                        p["diverging_epoch"] = (sub.int32(), sub.int64())
                    elif tag == 1:
                        p["current_leader"] = (sub.int32(), sub.int32())
            parts.append(p)
        if flexible:
            r.skip_tags()
        topics.append((key, parts))
    out["topics"] = topics
    if flexible:
        for _ in range(r.uvarint()):
            tag, tag_size = r.uvarint(), r.uvarint()
            sub = Reader(r.take(tag_size))
            if tag == 0:
                for _ in range(sub.array_len(True)):
                    node = sub.int32()
                    out["node_endpoints"][node] = (sub.string(True), sub.int32(),
                                                   sub.string(True))
                    sub.skip_tags()
    assert r.done(), f"{len(payload) - r.pos} trailing bytes at v{version}"
    return out


def fetch(conn, version, topics, **kw):
    """One Fetch on conn; the parsed response."""
    return parse_fetch(conn.call(FETCH, version, fetch_body(version, topics, **kw),
                                 flexible=version >= 12), version)


def list_offsets_body(version, topics, replica_id=-1, isolation=0):
    """topics: [(name, [(partition, timestamp[, current leader epoch])])]."""
    flexible = version >= 6
    w = Writer(flexible)
    w.int32(replica_id)
    if version >= 2:
        w.int8(isolation)

    def part(w, p):
        w.int32(p[0])
        if version >= 4:
            w.int32(p[2] if len(p) > 2 else -1)
        w.buf += struct.pack(">q", p[1])
        w.tags()
    w.array(list(topics), lambda w, t: w.string(t[0]).array(t[1], part).tags())
    if version >= 10:
        w.int32(1000)
    return w.tags().bytes()


def parse_list_offsets(payload, version):
    """[(name, partition, error, timestamp, offset, leader epoch)] in response order."""
    flexible = version >= 6
    r = Reader(payload)
    r.int32()
    if flexible:
        r.skip_tags()
    if version >= 2:
        r.int32()
    out = []
    for _ in range(r.array_len(flexible)):
        name = r.string(flexible)
        for _ in range(r.array_len(flexible)):
            p = (name, r.int32(), r.int16(), r.int64(), r.int64(),
                 r.int32() if version >= 4 else -1)
            if flexible:
                r.skip_tags()
            out.append(p)
        if flexible:
            r.skip_tags()
    if flexible:
        r.skip_tags()
    assert r.done(), f"{len(payload) - r.pos} trailing bytes at v{version}"
    return out


def list_offsets(conn, version, topics, **kw):
    return parse_list_offsets(conn.call(LIST_OFFSETS, version,
                                        list_offsets_body(version, topics, **kw),
                                        flexible=version >= 6), version)


def delete_records(conn, version, topics):
    """topics: [(name, [(partition, offset)])]; returns {(name, partition): (error, low wm)}."""
    flexible = version >= 2
    w = Writer(flexible)

    def part(w, p):
        w.int32(p[0])
        w.buf += struct.pack(">q", p[1])
        w.tags()
    w.array(list(topics), lambda w, t: w.string(t[0]).array(t[1], part).tags())
    body = w.int32(5000).tags().bytes()
    r = Reader(conn.call(DELETE_RECORDS, version, body, flexible=flexible))
    r.int32()
    if flexible:
        r.skip_tags()
    r.int32()
    out = {}
    for _ in range(r.array_len(flexible)):
        name = r.string(flexible)
        for _ in range(r.array_len(flexible)):
            index, low = r.int32(), r.int64()
            out[(name, index)] = (r.int16(), low)
            if flexible:
                r.skip_tags()
        if flexible:
            r.skip_tags()
    if flexible:
        r.skip_tags()
    assert r.done()
    return out


def offset_for_leader_epoch(conn, version, topics, replica_id=-1):
    """topics: [(name, [(partition, leader epoch[, current leader epoch])])]; returns
    {(name, partition): (error, leader epoch, end offset)}."""
    flexible = version >= 4
    w = Writer(flexible)
    if version >= 3:
        w.int32(replica_id)

    def part(w, p):
        w.int32(p[0]).int32(p[2] if len(p) > 2 else -1).int32(p[1]).tags()
    w.array(list(topics), lambda w, t: w.string(t[0]).array(t[1], part).tags())
    r = Reader(conn.call(OFFSET_FOR_LEADER_EPOCH, version, w.tags().bytes(), flexible=flexible))
    r.int32()
    if flexible:
        r.skip_tags()
    r.int32()
    out = {}
    for _ in range(r.array_len(flexible)):
        name = r.string(flexible)
        for _ in range(r.array_len(flexible)):
            error, index = r.int16(), r.int32()
            out[(name, index)] = (error, r.int32(), r.int64())
            if flexible:
                r.skip_tags()
        if flexible:
            r.skip_tags()
    if flexible:
        r.skip_tags()
    assert r.done()
    return out


# ---- Produce and InitProducerId (issue 6) ----

INIT_PRODUCER_ID = 22
CORRUPT_MESSAGE, REQUEST_TIMED_OUT, MESSAGE_TOO_LARGE = 2, 7, 10
COORDINATOR_NOT_AVAILABLE, RECORD_LIST_TOO_LARGE, INVALID_REQUIRED_ACKS = 15, 18, 21
INVALID_TIMESTAMP, OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH = 32, 45, 47
INVALID_TXN_STATE, TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 48, 53
UNSUPPORTED_COMPRESSION_TYPE, INVALID_RECORD = 76, 87


def records_v2(records, base_timestamp):
    """The records section of a RecordBatch v2; records: [(key, value, timestamp)]."""
    body = b""
    for i, (key, value, ts) in enumerate(records):
        rec = b"\x00" + varint(ts - base_timestamp) + varint(i)
        rec += varint(-1) if key is None else varint(len(key)) + key
        rec += varint(-1) if value is None else varint(len(value)) + value
        rec += varint(0)  # no headers
        body += varint(len(rec)) + rec
    return body


def producer_batch(records, base_timestamp, producer_id=-1, producer_epoch=-1, base_sequence=-1,
                   codec=0, attributes=0, section=None, magic=2, count=None):
    """A RecordBatch as a client sends it, with producer fields and a codec (1 gzip: the records
    section compressed here with zlib; other codecs need section, the compressed bytes).
    section overrides the records section; count the record count (default len(records))."""
    import zlib
    if section is None:
        section = records_v2(records, base_timestamp)
        if codec == 1:
            c = zlib.compressobj(6, zlib.DEFLATED, 31)
            section = c.compress(section) + c.flush()
        elif codec != 0:
            raise ValueError("only gzip is compressed here")
    count = len(records) if count is None else count
    max_ts = max([base_timestamp] + [ts for _, _, ts in records])
    after_crc = struct.pack(">hiqqqhii", codec | attributes, count - 1, base_timestamp, max_ts,
                            producer_id, producer_epoch, base_sequence, count) + section
    tail = struct.pack(">ibI", -1, magic, crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(tail)) + tail


def produce_body(version, topics, acks=-1, timeout_ms=10000, transactional_id=None):
    """topics: [(name, or 16-byte id for v13+, [(partition, records bytes or None)])]."""
    flexible = version >= 9
    w = Writer(flexible)
    if version >= 3:
        w.string(transactional_id)
    w.int16(acks).int32(timeout_ms)

    def part(w, p):
        w.int32(p[0])
        data = p[1]
        if data is None:
            w.buf += uvarint(0) if flexible else struct.pack(">i", -1)
        else:
            w.buf += uvarint(len(data) + 1) if flexible else struct.pack(">i", len(data))
            w.buf += data
        w.tags()

    def topic(w, t):
        if version >= 13:
            w.buf += t[0]
        else:
            w.string(t[0])
        w.array(t[1], part).tags()
    w.array(list(topics), topic)
    return w.tags().bytes()


def parse_produce(payload, version):
    """[{"topic", "partition", "error", "base_offset", "log_append_time", "log_start_offset",
    "record_errors": [(index, message)], "error_message", "leader": (id, epoch)}] in order."""
    flexible = version >= 9
    r = Reader(payload)
    r.int32()
    if flexible:
        r.skip_tags()
    out = []
    for _ in range(r.array_len(flexible)):
        topic = r.take(16) if version >= 13 else r.string(flexible)
        for _ in range(r.array_len(flexible)):
            p = {"topic": topic, "partition": r.int32(), "error": r.int16(),
                 "base_offset": r.int64(), "log_append_time": -1, "log_start_offset": -1,
                 "record_errors": [], "error_message": None, "leader": (-1, -1)}
            if version >= 2:
                p["log_append_time"] = r.int64()
            if version >= 5:
                p["log_start_offset"] = r.int64()
            if version >= 8:
                for _ in range(r.array_len(flexible)):
                    p["record_errors"].append((r.int32(), r.string(flexible)))
                    if flexible:
                        r.skip_tags()
                p["error_message"] = r.string(flexible)
            if flexible:
                for _ in range(r.uvarint()):
                    tag, size = r.uvarint(), r.uvarint()
                    if tag == 0:
                        p["leader"] = (r.int32(), r.int32())
                        r.skip_tags()
                    else:
                        r.take(size)
            out.append(p)
        if flexible:
            r.skip_tags()
    if version >= 1:
        r.int32()
    if flexible:
        r.skip_tags()
    assert r.done(), f"{len(payload) - r.pos} trailing bytes at v{version}"
    return out


def produce_call(conn, version, topics, correlation=1, **kw):
    """One Produce request; its parsed response (parse_produce)."""
    return parse_produce(conn.call(PRODUCE, version, produce_body(version, topics, **kw),
                                   flexible=version >= 9, correlation=correlation), version)


def init_producer_id(conn, version=4, transactional_id=None, producer_id=-1, producer_epoch=-1):
    """InitProducerId; returns (error, producer id, epoch)."""
    flexible = version >= 2
    w = Writer(flexible)
    w.string(transactional_id).int32(60000)
    if version >= 3:
        w.buf += struct.pack(">qh", producer_id, producer_epoch)
    r = Reader(conn.call(INIT_PRODUCER_ID, version, w.tags().bytes(), flexible=flexible))
    r.int32()
    if flexible:
        r.skip_tags()
    r.int32()
    return r.int16(), r.int64(), r.int16()
