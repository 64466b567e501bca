"""Raw frames of the classic group APIs for the group suites (test_group_wire.py,
test_offsets_wire.py): builders and parsers written here from Kafka's JSON specs with
kafka_frames.py's Writer and Reader, independently of Quire's codec; group members driven by
hand; the records of __consumer_offsets decoded as Kafka writes them; and GroupTestCase, one
broker per test class with its coordinator ready.

Brokers run with short group timeouts (group.min.session.timeout.ms=100) so that rebalances and
session expiries take well under a second; every wait is bounded."""

import base64
import select
import struct
import unittest

import harness
import kafka_frames as kf
from kafka_frames import Conn, Reader, Writer, uvarint

FIND_COORDINATOR, JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP = 10, 11, 12, 13, 14
DESCRIBE_GROUPS, LIST_GROUPS, OFFSET_COMMIT, OFFSET_FETCH = 15, 16, 8, 9
DELETE_GROUPS, OFFSET_DELETE = 42, 47

# The first flexible version of each API (Kafka's JSON specs).
FLEXIBLE_FROM = {FIND_COORDINATOR: 3, JOIN_GROUP: 6, HEARTBEAT: 4, LEAVE_GROUP: 4,
                 SYNC_GROUP: 4, DESCRIBE_GROUPS: 5, LIST_GROUPS: 3, OFFSET_COMMIT: 8,
                 OFFSET_FETCH: 6, DELETE_GROUPS: 2, OFFSET_DELETE: 99, kf.METADATA: 9,
                 kf.FETCH: 12}

NONE = 0
OFFSET_METADATA_TOO_LARGE = 12
COORDINATOR_NOT_AVAILABLE = 15
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27
INVALID_REQUEST = 42
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
FENCED_INSTANCE_ID = 82
GROUP_SUBSCRIBED_TO_TOPIC = 86
MEMBER_ID_REQUIRED = 79
GROUP_MAX_SIZE_REACHED = 81
UNKNOWN_TOPIC_OR_PARTITION = 3
UNKNOWN_TOPIC_ID = 100

# Brokers of this suite: short group timeouts; no initial rebalance delay unless a test asks.
FAST = ["group.min.session.timeout.ms=100", "group.max.session.timeout.ms=60000",
        "group.initial.rebalance.delay.ms=0"]
SESSION_MS = 10000  # members that must not expire during a test
REBALANCE_MS = 10000


def is_flexible(api, version):
    return version >= FLEXIBLE_FROM[api]


# ---- bytes and nullable values, both encodings ----

def w_bytes(w, data):
    """bytes (int32 length) or compact bytes; None writes null."""
    if data is None:
        w.buf += uvarint(0) if w.flexible else struct.pack(">i", -1)
    else:
        w.buf += uvarint(len(data) + 1) if w.flexible else struct.pack(">i", len(data))
        w.buf += data
    return w


def r_bytes(r, flexible):
    n = r.uvarint() - 1 if flexible else r.int32()
    return None if n < 0 else r.take(n)


def w_int64(w, v):
    w.buf += struct.pack(">q", v)
    return w


def consumer_subscription(topics, user_data=None):
    """ConsumerProtocolSubscription v0 as the Java consumer writes it: int16 version, topics as
    int32 count + int16-length names, then nullable int32-length user data."""
    out = struct.pack(">hi", 0, len(topics))
    for t in topics:
        enc = t.encode()
        out += struct.pack(">h", len(enc)) + enc
    if user_data is None:
        return out + struct.pack(">i", -1)
    return out + struct.pack(">i", len(user_data)) + user_data


def consumer_assignment(partitions):
    """ConsumerProtocolAssignment v0: int16 version, [topic, [partition]], null user data."""
    out = struct.pack(">hi", 0, len(partitions))
    for topic, parts in partitions:
        enc = topic.encode()
        out += struct.pack(">h", len(enc)) + enc + struct.pack(">i", len(parts))
        out += b"".join(struct.pack(">i", p) for p in parts)
    return out + struct.pack(">i", -1)


class Client:
    """One connection; requests numbered by a correlation counter. call() sends and reads the
    answer; send()/recv() split them for requests the broker parks (JoinGroup, SyncGroup)."""

    def __init__(self, broker):
        self.conn = Conn(broker)
        self.correlation = 0
        self.pending = []  # (correlation, api, version) sent and not yet read

    def close(self):
        self.conn.close()

    def send(self, api, version, body):
        self.correlation += 1
        self.conn.send(kf.request(api, version, self.correlation, body,
                                  flexible=is_flexible(api, version)))
        self.pending.append((self.correlation, api, version))

    def ready(self, timeout_s):
        """Whether an answer arrives within timeout_s (without reading it)."""
        readable, _, _ = select.select([self.conn.sock], [], [], timeout_s)
        return bool(readable)

    def recv(self):
        """The next answer's Reader, positioned after its header (checked against the oldest
        request sent)."""
        correlation, api, version = self.pending.pop(0)
        r = Reader(self.conn.response())
        got = r.int32()
        assert got == correlation, f"correlation {got}, expected {correlation}"
        if is_flexible(api, version):
            r.skip_tags()  # response header v1
        return r

    def call(self, api, version, body):
        self.send(api, version, body)
        return self.recv()


def done(r, what):
    assert r.done(), f"{len(r.data) - r.pos} trailing bytes in {what}"


# ---- FindCoordinator ----

def find_coordinator_body(version, keys, key_type=0):
    w = Writer(is_flexible(FIND_COORDINATOR, version))
    if version <= 3:
        w.string(keys[0])
        if version >= 1:
            w.int8(key_type)
    else:
        w.int8(key_type).array(list(keys), lambda w, k: w.string(k))
    return w.tags().bytes()


def find_coordinator(client, version, keys, key_type=0):
    """v0-3: [{"error", "message", "node_id", "host", "port"}] (message None at v0, the one
    key's); v4+: one dict per coordinator entry, with its "key"."""
    flexible = is_flexible(FIND_COORDINATOR, version)
    r = client.call(FIND_COORDINATOR, version, find_coordinator_body(version, keys, key_type))
    if version >= 1:
        r.int32()
    out = []
    if version <= 3:
        c = {"key": keys[0], "error": r.int16(), "message": None}
        if version >= 1:
            c["message"] = r.string(flexible)
        c.update(node_id=r.int32(), host=r.string(flexible), port=r.int32())
        out.append(c)
    else:
        for _ in range(r.array_len(True)):
            c = {"key": r.string(True), "node_id": r.int32(), "host": r.string(True),
                 "port": r.int32(), "error": r.int16(), "message": r.string(True)}
            r.skip_tags()
            out.append(c)
    if flexible:
        r.skip_tags()
    done(r, f"FindCoordinator v{version}")
    return out


# ---- JoinGroup ----

def join_body(version, group, member_id="", protocols=(("range", b"\x00\x01"),),
              protocol_type="consumer", session_ms=SESSION_MS, rebalance_ms=REBALANCE_MS,
              instance_id=None, reason=None):
    w = Writer(is_flexible(JOIN_GROUP, version))
    w.string(group).int32(session_ms)
    if version >= 1:
        w.int32(rebalance_ms)
    w.string(member_id)
    if version >= 5:
        w.string(instance_id)
    w.string(protocol_type)
    w.array(list(protocols), lambda w, p: w_bytes(w.string(p[0]), p[1]).tags())
    if version >= 8:
        w.string(reason)
    return w.tags().bytes()


def parse_join(r, version):
    flexible = is_flexible(JOIN_GROUP, version)
    out = {}
    if version >= 2:
        r.int32()
    out["error"] = r.int16()
    out["generation"] = r.int32()
    out["protocol_type"] = r.string(flexible) if version >= 7 else None
    out["protocol_name"] = r.string(flexible)
    out["leader"] = r.string(flexible)
    out["skip_assignment"] = r.bool() if version >= 9 else False
    out["member_id"] = r.string(flexible)
    members = []
    for _ in range(r.array_len(flexible)):
        m = {"member_id": r.string(flexible)}
        m["instance_id"] = r.string(flexible) if version >= 5 else None
        m["metadata"] = r_bytes(r, flexible)
        if flexible:
            r.skip_tags()
        members.append(m)
    out["members"] = members
    if flexible:
        r.skip_tags()
    done(r, f"JoinGroup v{version}")
    return out


# ---- SyncGroup ----

def sync_body(version, group, generation, member_id, assignments=(), instance_id=None,
              protocol_type="consumer", protocol_name="range"):
    w = Writer(is_flexible(SYNC_GROUP, version))
    w.string(group).int32(generation).string(member_id)
    if version >= 3:
        w.string(instance_id)
    if version >= 5:
        w.string(protocol_type).string(protocol_name)
    w.array(list(assignments), lambda w, a: w_bytes(w.string(a[0]), a[1]).tags())
    return w.tags().bytes()


def parse_sync(r, version):
    flexible = is_flexible(SYNC_GROUP, version)
    if version >= 1:
        r.int32()
    out = {"error": r.int16(), "protocol_type": None, "protocol_name": None}
    if version >= 5:
        out["protocol_type"] = r.string(flexible)
        out["protocol_name"] = r.string(flexible)
    out["assignment"] = r_bytes(r, flexible)
    if flexible:
        r.skip_tags()
    done(r, f"SyncGroup v{version}")
    return out


# ---- Heartbeat, LeaveGroup ----

def heartbeat(client, group, generation, member_id, instance_id=None, version=4):
    w = Writer(is_flexible(HEARTBEAT, version))
    w.string(group).int32(generation).string(member_id)
    if version >= 3:
        w.string(instance_id)
    r = client.call(HEARTBEAT, version, w.tags().bytes())
    if version >= 1:
        r.int32()
    error = r.int16()
    if is_flexible(HEARTBEAT, version):
        r.skip_tags()
    done(r, f"Heartbeat v{version}")
    return error


def leave_group(client, version, group, members):
    """members: [(member_id, instance_id)] (v0-2: exactly one, instance id ignored). Returns
    (top-level error, [(member_id, instance_id, error)] (v3+, else []))."""
    flexible = is_flexible(LEAVE_GROUP, version)
    w = Writer(flexible)
    w.string(group)
    if version <= 2:
        w.string(members[0][0])
    else:
        def member(w, m):
            w.string(m[0]).string(m[1])
            if version >= 5:
                w.string("test")
            w.tags()
        w.array(list(members), member)
    r = client.call(LEAVE_GROUP, version, w.tags().bytes())
    if version >= 1:
        r.int32()
    error = r.int16()
    out = []
    if version >= 3:
        for _ in range(r.array_len(flexible)):
            out.append((r.string(flexible), r.string(flexible), r.int16()))
            if flexible:
                r.skip_tags()
    if flexible:
        r.skip_tags()
    done(r, f"LeaveGroup v{version}")
    return error, out


# ---- DescribeGroups, ListGroups, DeleteGroups ----

def describe_groups(client, groups, version=5, include_ops=False):
    flexible = is_flexible(DESCRIBE_GROUPS, version)
    w = Writer(flexible)
    w.array(list(groups), lambda w, g: w.string(g))
    if version >= 3:
        w.bool(include_ops)
    r = client.call(DESCRIBE_GROUPS, version, w.tags().bytes())
    if version >= 1:
        r.int32()
    out = []
    for _ in range(r.array_len(flexible)):
        g = {"error": r.int16()}
        g["message"] = r.string(flexible) if version >= 6 else None
        g.update(group_id=r.string(flexible), state=r.string(flexible),
                 protocol_type=r.string(flexible), protocol=r.string(flexible))
        members = []
        for _ in range(r.array_len(flexible)):
            m = {"member_id": r.string(flexible)}
            m["instance_id"] = r.string(flexible) if version >= 4 else None
            m.update(client_id=r.string(flexible), client_host=r.string(flexible),
                     metadata=r_bytes(r, flexible), assignment=r_bytes(r, flexible))
            if flexible:
                r.skip_tags()
            members.append(m)
        g["members"] = members
        g["authorized_operations"] = r.int32() if version >= 3 else None
        if flexible:
            r.skip_tags()
        out.append(g)
    if flexible:
        r.skip_tags()
    done(r, f"DescribeGroups v{version}")
    return out


def describe_one(client, group, version=5):
    [g] = describe_groups(client, [group], version)
    return g


def list_groups(client, version=5, states=(), types=()):
    """(error, [{"group_id", "protocol_type", "state", "type"}])"""
    flexible = is_flexible(LIST_GROUPS, version)
    w = Writer(flexible)
    if version >= 4:
        w.array(list(states), lambda w, s: w.string(s))
    if version >= 5:
        w.array(list(types), lambda w, s: w.string(s))
    r = client.call(LIST_GROUPS, version, w.tags().bytes())
    if version >= 1:
        r.int32()
    error = r.int16()
    out = []
    for _ in range(r.array_len(flexible)):
        g = {"group_id": r.string(flexible), "protocol_type": r.string(flexible)}
        g["state"] = r.string(flexible) if version >= 4 else None
        g["type"] = r.string(flexible) if version >= 5 else None
        if flexible:
            r.skip_tags()
        out.append(g)
    if flexible:
        r.skip_tags()
    done(r, f"ListGroups v{version}")
    return error, out


def delete_groups_results(client, groups, version=2):
    """[(group, error)] in answer order."""
    flexible = is_flexible(DELETE_GROUPS, version)
    w = Writer(flexible)
    w.array(list(groups), lambda w, g: w.string(g))
    r = client.call(DELETE_GROUPS, version, w.tags().bytes())
    r.int32()
    out = []
    for _ in range(r.array_len(flexible)):
        name = r.string(flexible)
        out.append((name, r.int16()))
        if flexible:
            r.skip_tags()
    if flexible:
        r.skip_tags()
    done(r, f"DeleteGroups v{version}")
    return out


def delete_groups(client, groups, version=2):
    """{group: error}."""
    return dict(delete_groups_results(client, groups, version))


# ---- OffsetCommit, OffsetFetch, OffsetDelete ----

def offset_commit(client, version, group, topics, generation=-1, member_id="",
                  instance_id=None, retention_ms=-1):
    """topics: [(name, or 16-byte id at v10, [(partition, offset[, leader epoch[, metadata]])])].
    Returns {(name or id, partition): error}."""
    flexible = is_flexible(OFFSET_COMMIT, version)
    w = Writer(flexible)
    w.string(group).int32(generation).string(member_id)
    if version >= 7:
        w.string(instance_id)
    if version <= 4:
        w_int64(w, retention_ms)

    def part(w, p):
        w.int32(p[0])
        w_int64(w, p[1])
        if version >= 6:
            w.int32(p[2] if len(p) > 2 else -1)
        w.string(p[3] if len(p) > 3 else "")
        w.tags()

    def topic(w, t):
        if version >= 10:
            w.buf += t[0]
        else:
            w.string(t[0])
        w.array(list(t[1]), part).tags()
    w.array(list(topics), topic)
    r = client.call(OFFSET_COMMIT, version, w.tags().bytes())
    if version >= 3:
        r.int32()
    out = {}
    for _ in range(r.array_len(flexible)):
        key = r.take(16) if version >= 10 else r.string(flexible)
        for _ in range(r.array_len(flexible)):
            index = r.int32()
            out[(key, index)] = r.int16()
            if flexible:
                r.skip_tags()
        if flexible:
            r.skip_tags()
    if flexible:
        r.skip_tags()
    done(r, f"OffsetCommit v{version}")
    return out


def offset_fetch_body(version, groups, require_stable=False):
    """groups: [(group, topics)] (one for v1-7); topics None for all (v2+), else [(name or
    16-byte id at v10, [partition])]."""
    flexible = is_flexible(OFFSET_FETCH, version)
    w = Writer(flexible)

    def topic(w, t):
        if version >= 10:
            w.buf += t[0]
        else:
            w.string(t[0])
        w.array(list(t[1]), lambda w, p: w.int32(p)).tags()
    if version <= 7:
        [(group, topics)] = groups
        w.string(group).array(None if topics is None else list(topics), topic)
    else:
        def grp(w, g):
            w.string(g[0])
            if version >= 9:
                w.string(None).int32(-1)
            w.array(None if g[1] is None else list(g[1]), topic).tags()
        w.array(list(groups), grp)
    if version >= 7:
        w.bool(require_stable)
    return w.tags().bytes()


def offset_fetch(client, version, groups, require_stable=False):
    """Returns {group: {"error", "offsets": {(topic name or id, partition): (offset, leader
    epoch, metadata, error)}, "order": [keys in answer order]}} (v1-7: the one group)."""
    flexible = is_flexible(OFFSET_FETCH, version)
    r = client.call(OFFSET_FETCH, version, offset_fetch_body(version, groups, require_stable))
    if version >= 3:
        r.int32()

    def topics(r):
        offsets, order = {}, []
        for _ in range(r.array_len(flexible)):
            key = r.take(16) if version >= 10 else r.string(flexible)
            for _ in range(r.array_len(flexible)):
                index, offset = r.int32(), r.int64()
                epoch = r.int32() if version >= 5 else None
                meta, error = r.string(flexible), r.int16()
                if flexible:
                    r.skip_tags()
                offsets[(key, index)] = (offset, epoch, meta, error)
                order.append((key, index))
            if flexible:
                r.skip_tags()
        return offsets, order

    out = {}
    if version <= 7:
        offsets, order = topics(r)
        error = r.int16() if version >= 2 else None
        out[groups[0][0]] = {"error": error, "offsets": offsets, "order": order}
    else:
        for _ in range(r.array_len(True)):
            group = r.string(True)
            offsets, order = topics(r)
            out[group] = {"error": r.int16(), "offsets": offsets, "order": order}
            r.skip_tags()
    if flexible:
        r.skip_tags()
    done(r, f"OffsetFetch v{version}")
    return out


def fetched(client, group, topic, partition, version=7):
    """(offset, leader epoch, metadata, error) of one partition (OffsetFetch v5-7)."""
    got = offset_fetch(client, version, [(group, [(topic, [partition])])])[group]
    assert got["error"] == NONE, got
    return got["offsets"][(topic, partition)]


def offset_delete(client, group, topics):
    """topics: [(name, [partition])]; returns (error, {(topic, partition): error})."""
    w = Writer(False)
    w.string(group)
    w.array(list(topics), lambda w, t: w.string(t[0]).array(list(t[1]),
                                                           lambda w, p: w.int32(p)))
    r = client.call(OFFSET_DELETE, 0, w.bytes())
    error = r.int16()
    r.int32()
    out = {}
    for _ in range(r.array_len(False)):
        name = r.string(False)
        for _ in range(r.array_len(False)):
            index = r.int32()
            out[(name, index)] = r.int16()
    done(r, "OffsetDelete v0")
    return error, out


def topic_id(broker, name):
    t = [t for t in kf.metadata(broker, [name])["topics"] if t["name"] == name][0]
    return base64.urlsafe_b64decode(t["topic_id"] + "==")


# ---- group members ----

def coordinator_ready(broker, group="g", timeout_s=10):
    """FindCoordinator until this broker is the group's coordinator (the offsets topic is
    created by the first lookup) and a group request is served (its partition loaded)."""
    client = Client(broker)
    try:
        harness.wait_until(lambda: find_coordinator(client, 4, [group])[0]["error"] == NONE,
                           timeout_s, "coordinator")
        harness.wait_until(lambda: list_groups(client, 5)[0] == NONE, timeout_s,
                           "loaded offsets partitions")
    finally:
        client.close()


_MEMBERS = object()  # Member.sync: the member's own protocol type / name


class Member:
    """One classic group member on its own connection."""

    def __init__(self, broker, group, protocols=(("range", b"\x00\x01"),),
                 protocol_type="consumer", instance_id=None, session_ms=SESSION_MS,
                 rebalance_ms=REBALANCE_MS, version=9):
        self.client = Client(broker)
        self.group = group
        self.protocols = protocols
        self.protocol_type = protocol_type
        self.instance_id = instance_id
        self.session_ms = session_ms
        self.rebalance_ms = rebalance_ms
        self.version = version
        self.member_id = ""
        self.generation = -1
        self.join_result = None

    def close(self):
        self.client.close()

    def send_join(self, **kw):
        args = dict(member_id=self.member_id, protocols=self.protocols,
                    protocol_type=self.protocol_type, session_ms=self.session_ms,
                    rebalance_ms=self.rebalance_ms,
                    instance_id=self.instance_id)
        args.update(kw)
        self.client.send(JOIN_GROUP, self.version, join_body(self.version, self.group, **args))

    def recv_join(self):
        j = parse_join(self.client.recv(), self.version)
        if j["error"] == NONE:
            self.member_id, self.generation = j["member_id"], j["generation"]
        self.join_result = j
        return j

    def join(self, **kw):
        """One JoinGroup, answered (waits up to the connection's timeout)."""
        self.send_join(**kw)
        return self.recv_join()

    def join_with_id(self):
        """JoinGroup v4+'s handshake: MEMBER_ID_REQUIRED hands out the id, then the join is sent
        again (its answer is not awaited: a rebalance may park it)."""
        if self.version >= 4 and self.instance_id is None and not self.member_id:
            j = self.join()
            assert j["error"] == MEMBER_ID_REQUIRED, j
            self.member_id = j["member_id"]
        self.send_join()

    def sync(self, assignments=(), version=5, generation=None, protocol_type=_MEMBERS,
             protocol_name=_MEMBERS):
        """Sends a SyncGroup (its answer: recv_sync). v5's protocol type and name default to
        the member's type and its last join's protocol."""
        if protocol_type is _MEMBERS:
            protocol_type = self.protocol_type
        if protocol_name is _MEMBERS:
            protocol_name = (self.join_result or {}).get("protocol_name")
        body = sync_body(version, self.group, self.generation if generation is None else generation,
                         self.member_id, assignments, instance_id=self.instance_id,
                         protocol_type=protocol_type, protocol_name=protocol_name)
        self.client.send(SYNC_GROUP, version, body)

    def recv_sync(self, version=5):
        return parse_sync(self.client.recv(), version)

    def heartbeat(self, generation=None, version=4, member_id=None):
        return heartbeat(self.client, self.group,
                         self.generation if generation is None else generation,
                         self.member_id if member_id is None else member_id,
                         self.instance_id if version >= 3 else None, version)


def stable_group(test, broker, group, count=1, assignments=None, protocols=None, **kw):
    """count members joined and synced, the first the leader; returns them. The leader forms
    generation 1 alone; the others' joins start a rebalance that the leader's rejoin completes
    (generation 2). protocols: one list for all members or one per member. assignments:
    {member index: bytes}, default b"a<index>" for each."""
    if protocols is None:
        protocols = [(("range", b"\x00\x01"),)] * count
    elif protocols and isinstance(protocols[0][0], str):
        protocols = [protocols] * count
    members = [Member(broker, group, protocols=protocols[i], **kw) for i in range(count)]
    for m in members:
        test.addCleanup(m.close)
    leader = members[0]
    leader.join_with_id()
    j = leader.recv_join()
    test.assertEqual(j["error"], NONE, j)
    if count > 1:
        for m in members[1:]:
            m.join_with_id()
        client = Client(broker)
        try:
            harness.wait_until(lambda: len(describe_one(client, group)["members"]) == count,
                               10, f"{count} members in {group}")
        finally:
            client.close()
        leader.send_join()
        for m in members:
            j = m.recv_join()
            test.assertEqual(j["error"], NONE, j)
    test.assertEqual(leader.join_result["leader"], leader.member_id)
    if assignments is None:
        assignments = {i: b"a%d" % i for i in range(count)}
    leader.sync([(members[k].member_id, a) for k, a in assignments.items()])
    for m in members[1:]:
        m.sync()
    for m in members:
        s = m.recv_sync()
        test.assertEqual(s["error"], NONE, s)
    return members


# ---- __consumer_offsets records ----

def java_hash(s):
    """Java's String.hashCode (ASCII ids)."""
    h = 0
    for ch in s:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def offsets_partition(group, partitions=50):
    """Kafka's partitionFor: Utils.abs(groupId.hashCode) % offsets.topic.num.partitions."""
    h = java_hash(group)
    return (0 if h == -(1 << 31) else abs(h)) % partitions


def read_varint(data, pos):
    shift = value = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return (value >> 1) ^ -(value & 1), pos
        shift += 7


def batch_records(raw):
    """[(offset, key, value)] of one uncompressed RecordBatch v2 (kf.batches' raw bytes)."""
    base = struct.unpack(">q", raw[:8])[0]
    attributes = struct.unpack(">h", raw[21:23])[0]
    assert attributes & 0x7 == 0, f"compressed batch (attributes {attributes})"
    count = struct.unpack(">i", raw[57:61])[0]
    pos, out = 61, []
    for _ in range(count):
        length, pos = read_varint(raw, pos)
        end = pos + length
        pos += 1  # attributes
        _, pos = read_varint(raw, pos)  # timestamp delta
        delta, pos = read_varint(raw, pos)
        klen, pos = read_varint(raw, pos)
        key = None if klen < 0 else raw[pos:pos + klen]
        pos += max(klen, 0)
        vlen, pos = read_varint(raw, pos)
        value = None if vlen < 0 else raw[pos:pos + vlen]
        pos = end
        out.append((base + delta, key, value))
    return out


def read_partition(client, topic, partition):
    """Every record of the partition, [(offset, key, value)], with Fetch v12."""
    out, offset = [], 0
    for _ in range(50):
        resp = kf.fetch(client.conn, 12, [(topic, [(partition, offset, 1 << 20)])])
        [(_, [p])] = resp["topics"]
        assert p["error"] == NONE, p
        got = kf.batches(p["records"])
        for *_, raw in got:
            out += [rec for rec in batch_records(raw) if rec[0] >= offset]
        if not got or got[-1][1] + 1 >= p["high_watermark"]:
            return out
        offset = got[-1][1] + 1
    raise AssertionError("partition not read to its end in 50 fetches")


def parse_offset_commit_record(key, value):
    """(group, topic, partition), and the value as a dict (None for a tombstone)."""
    r = Reader(key)
    assert r.int16() == 1, key
    k = (r.string(False), r.string(False), r.int32())
    done(r, "OffsetCommitKey")
    if value is None:
        return k, None
    r = Reader(value)
    v = {"version": r.int16()}
    v["offset"] = r.int64()
    v["leader_epoch"] = r.int32() if v["version"] >= 3 else None
    v["metadata"] = r.string(False)
    v["commit_timestamp"] = r.int64()
    v["expire_timestamp"] = r.int64() if v["version"] == 1 else None
    done(r, f"OffsetCommitValue v{v['version']}")
    return k, v


def parse_group_metadata_record(key, value):
    r = Reader(key)
    assert r.int16() == 2, key
    group = r.string(False)
    done(r, "GroupMetadataKey")
    if value is None:
        return group, None
    r = Reader(value)
    v = {"version": r.int16()}
    v.update(protocol_type=r.string(False), generation=r.int32(), protocol=r.string(False),
             leader=r.string(False))
    v["state_timestamp"] = r.int64() if v["version"] >= 2 else None
    members = []
    for _ in range(r.array_len(False)):
        m = {"member_id": r.string(False)}
        m["instance_id"] = r.string(False) if v["version"] >= 3 else None
        m.update(client_id=r.string(False), client_host=r.string(False))
        m["rebalance_timeout"] = r.int32() if v["version"] >= 1 else None
        m.update(session_timeout=r.int32(), subscription=r_bytes(r, False),
                 assignment=r_bytes(r, False))
        members.append(m)
    v["members"] = members
    done(r, f"GroupMetadataValue v{v['version']}")
    return group, v


def coordinator_records(client, group):
    """[("offset", key tuple, value) | ("group", group, value)] of the group's partition of
    __consumer_offsets, in log order (other groups' records left out)."""
    out = []
    for _, key, value in read_partition(client, "__consumer_offsets", offsets_partition(group)):
        version = struct.unpack(">h", key[:2])[0]
        if version in (0, 1):
            k, v = parse_offset_commit_record(key, value)
            if k[0] == group:
                out.append(("offset", k, v))
        elif version == 2:
            g, v = parse_group_metadata_record(key, value)
            if g == group:
                out.append(("group", g, v))
    return out


# ---- the tests ----

class GroupTestCase(unittest.TestCase):
    """One broker per class (its tests use distinct group names), its coordinator ready, and a
    client connection per test. The broker must stop cleanly after the class."""

    OVERRIDES = FAST
    TOPICS = ()

    @classmethod
    def setUpClass(cls):
        cls.broker = harness.Broker(cls.OVERRIDES, name=cls.__name__).start()
        try:
            for name, partitions in cls.TOPICS:
                harness.create_topic(cls.broker, name, partitions)
            coordinator_ready(cls.broker)
        except BaseException:
            cls.broker.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()

    def setUp(self):
        if self.broker not in harness._test_brokers:
            harness._test_brokers.append(self.broker)  # its log is printed if the test fails
        self.client = self.connect()

    def connect(self):
        client = Client(self.broker)
        self.addCleanup(client.close)
        return client

    def member(self, group, **kw):
        m = Member(self.broker, group, **kw)
        self.addCleanup(m.close)
        return m

    def state(self, group):
        return describe_one(self.client, group)["state"]

    def wait_members(self, group, count):
        """Until DescribeGroups lists count members (joins on other connections registered)."""
        harness.wait_until(lambda: len(describe_one(self.client, group)["members"]) == count,
                           5, f"{count} members in {group}")
