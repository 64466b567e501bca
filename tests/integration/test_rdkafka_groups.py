"""librdkafka 2.0.2 in C (tests/clients/rdkafka/rdkafka_groups.c) in consumer groups on Quire: each
member is its own process, printing its rebalance callbacks, messages and commits as they happen.

- Three members join one by one and one is killed with SIGKILL (no LeaveGroup): no generation
  gives a partition to two members, each settled generation gives every one of the topic's 6
  partitions to some member, and no two members ever own a partition at the same time (by the
  members' CLOCK_MONOTONIC stamps); the survivors take the dead member's partitions once its
  session times out (not sooner: a closed connection is not a departure), and read on from the
  commits, so every message is read exactly once.
- Members commit what they consumed; after a broker restart, new members of the group resume at
  the committed offsets: nothing skipped, nothing read twice.
- The range, roundrobin and cooperative-sticky assignors each give a complete, disjoint
  assignment (range and roundrobin their known layouts; cooperative-sticky moves only the
  partitions it must, in incremental rebalances), and DescribeGroups shows the broker's view:
  the same members with the same assignments and the assignor's name.
- ListGroups shows the group's state; OffsetDelete refuses partitions of a topic the group is
  subscribed to and DeleteGroups a group with members; once the group is empty both work, and a
  new member starts over.

Members use session.timeout.ms=3000 and heartbeat.interval.ms=500 (the broker allows sessions
from 1 s)."""

import collections
import os
import signal
import subprocess
import tempfile
import threading
import time

import harness
from client_programs import C_CLIENT_ENV, MissingTool, run_json

PARTITIONS = 6
ALL = frozenset(range(PARTITIONS))
SESSION_TIMEOUT_MS = 3000
HEARTBEAT_MS = 500
BROKER_OVERRIDES = ["auto.create.topics.enable=false", "group.min.session.timeout.ms=1000"]
MEMBER_CONF = [f"session.timeout.ms={SESSION_TIMEOUT_MS}", f"heartbeat.interval.ms={HEARTBEAT_MS}",
               "max.poll.interval.ms=10000"]
STABLE_TIMEOUT_S = 20
TRANSCRIPT_LINES = 60


def groups_bin():
    """Path of tests/clients/rdkafka/rdkafka_groups (built by meson with librdkafka-dev; meson test
    passes it in $RDKAFKA_GROUPS_BIN)."""
    path = os.environ.get("RDKAFKA_GROUPS_BIN")
    if not path:
        raise MissingTool("RDKAFKA_GROUPS_BIN is not set: install librdkafka-dev (tools/test does) "
                          "and reconfigure the build so meson builds tests/clients/rdkafka")
    if not os.access(path, os.X_OK):
        raise MissingTool(f"{path} is not built (ninja builds it with the tests)")
    return path


def groups_cmd(broker, *args):
    return run_json([groups_bin(), broker.bootstrap, *map(str, args)], env=C_CLIENT_ENV)


def produce(broker, topic, count, first=0):
    out = groups_cmd(broker, "produce", topic, PARTITIONS, count, first)
    assert (out["delivered"], out["errors"]) == (count, {}), out
    return out


def value_of(i):
    return f"m{i:06d}"


def read_twice(members):
    """Messages the members read more than once (value, count), sorted."""
    counts = collections.Counter(v for m in members for _, _, v in m.messages())
    return sorted((v, n) for v, n in counts.items() if n > 1)


def parts_of(text):
    return frozenset() if text == "-" else frozenset(int(p) for p in text.split(","))


def mono_ms():
    return time.monotonic() * 1000.0  # CLOCK_MONOTONIC, as the members' timestamps


class Member:
    """One rdkafka_groups member process and the events it printed, parsed:
    (time_ms, kind, fields dict)."""

    def __init__(self, broker, group, topic, name, conf=(), args=()):
        self.name = name
        self.events = []
        self.cond = threading.Condition()
        self.killed_at = None
        self.started_at = mono_ms()
        self.stderr = tempfile.TemporaryFile(mode="w+")
        argv = [groups_bin(), broker.bootstrap, "member", group, topic, *map(str, args),
                "-X", f"client.id={name}"]
        for kv in list(MEMBER_CONF) + list(conf):
            argv += ["-X", kv]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True,
                                     env=dict(os.environ, **C_CLIENT_ENV))
        self.reader = threading.Thread(target=self._read, daemon=True, name=f"member-{name}")
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            try:
                ev = self._parse(line)
            except (ValueError, IndexError):
                ev = (mono_ms(), "unparsed", {"line": line})
            with self.cond:
                self.events.append(ev)
                self.cond.notify_all()

    @staticmethod
    def _parse(line):
        t, kind, *rest = line.split(" ")
        f = {"line": line}
        if kind in ("assign", "revoke"):
            f.update(gen=int(rest[0]), member_id=rest[1], protocol=rest[2],
                     parts=parts_of(rest[3]))
        elif kind == "owned":
            f.update(gen=int(rest[0]), parts=parts_of(rest[1]))
        elif kind == "lost":
            f.update(parts=parts_of(rest[0]))
        elif kind == "msg":
            f.update(partition=int(rest[0]), offset=int(rest[1]), value=rest[2])
        elif kind == "commit":
            f.update(error=rest[0], offsets={})
            for item in rest[1].split(","):
                p, o, *err = item.split(":")
                f["offsets"][int(p)] = (int(o), err[0] if err else None)
        elif kind == "error":
            f.update(name=rest[0], reason=" ".join(rest[1:]))
        return float(t), kind, f

    # ---- views of the events ----

    def of(self, kind):
        with self.cond:
            return [e for e in self.events if e[1] == kind]

    def owned(self):
        """(generation, partitions) of the last "owned" line, or None."""
        last = self.of("owned")
        return (last[-1][2]["gen"], last[-1][2]["parts"]) if last else None

    def member_id(self):
        ids = [e[2]["member_id"] for e in self.of("assign")]
        return ids[-1] if ids else None

    def messages(self):
        return [(e[2]["partition"], e[2]["offset"], e[2]["value"]) for e in self.of("msg")]

    def committed_up_to(self):
        """partition -> the highest offset this member committed without error."""
        out = {}
        for e in self.of("commit"):
            for p, (o, err) in e[2]["offsets"].items():
                if e[2]["error"] == "NO_ERROR" and err is None:
                    out[p] = max(out.get(p, -1), o)
        return out

    def transcript(self):
        with self.cond:
            lines = [e[2]["line"] for e in self.events]
        self.stderr.seek(0)
        err = self.stderr.read()[-3000:]
        return (f"--- member {self.name} (last {TRANSCRIPT_LINES} of {len(lines)} lines) ---\n"
                + "\n".join(lines[-TRANSCRIPT_LINES:])
                + (f"\n--- {self.name} stderr ---\n{err}" if err.strip() else ""))

    # ---- control ----

    def command(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def close(self, timeout_s=30):
        """Asks the member to commit and close (LeaveGroup); requires exit status 0."""
        self.command("close")
        self.proc.stdin.close()
        try:
            rc = self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"{self.name} did not close within {timeout_s} s\n"
                                 f"{self.transcript()}") from None
        self.reader.join(5)
        if rc != 0 or not self.of("closed"):
            raise AssertionError(f"{self.name} exited {rc} on close\n{self.transcript()}")

    def kill(self):
        """SIGKILL: the member sends nothing more (no commit, no LeaveGroup)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.killed_at = mono_ms()
        self.reader.join(5)

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.reader.join(5)
        self.stderr.close()


class RdkafkaGroups(harness.BrokerTestCase):
    def setUp(self):
        self.broker = self.start_broker(BROKER_OVERRIDES)
        self.members = []

    def member(self, group, topic, name, conf=(), args=()):
        m = Member(self.broker, group, topic, name, conf, args)
        self.members.append(m)
        self.addCleanup(m.cleanup)
        return m

    def transcripts(self, members=None):
        return "\n".join(m.transcript() for m in (members or self.members))

    def wait_for(self, probe, what, timeout_s=STABLE_TIMEOUT_S, members=None):
        deadline = time.monotonic() + timeout_s
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout_s} s\n"
                                     f"{self.transcripts(members)}")
            time.sleep(0.05)

    def wait_stable(self, members, timeout_s=STABLE_TIMEOUT_S):
        """Waits until every member's last assignment has the same generation and together they
        cover the partitions, each exactly once; returns {member name: partitions}."""
        def probe():
            owned = [m.owned() for m in members]
            if None in owned or len({gen for gen, _ in owned}) != 1:
                return None
            sets = [parts for _, parts in owned]
            if sum(len(s) for s in sets) != PARTITIONS or frozenset().union(*sets) != ALL:
                return None
            return {m.name: parts for m, (_, parts) in zip(members, owned)}
        return self.wait_for(probe, f"stable assignment over {[m.name for m in members]}",
                             timeout_s, members)

    # ---- checks over the whole history ----

    def check_generations(self, members):
        """Within every generation the assignments the members got (the assign callbacks: all
        of it for EAGER, the additions for COOPERATIVE) are disjoint, and each member's
        generations increase. Completeness is checked where the group was stable (wait_stable):
        a generation may end before some member's SyncGroup is answered."""
        by_gen = {}
        for m in members:
            gens = [e[2]["gen"] for e in m.of("assign")]
            self.assertEqual(gens, sorted(set(gens)), f"{m.name}: generations {gens}")
            self.assertNotIn(-1, gens, f"{m.name}: no generation id")
            for e in m.of("assign"):
                by_gen.setdefault(e[2]["gen"], []).append((m.name, e[2]["parts"]))
        for gen, given in sorted(by_gen.items()):
            flat = [p for _, parts in given for p in parts]
            self.assertEqual(len(flat), len(set(flat)),
                             f"generation {gen}: a partition given twice: {given}")
        return by_gen

    def check_one_owner_at_a_time(self, members):
        """No partition is owned by two members at once. A member owns what its last "owned"
        line says, from that line's time until its next one (or its death)."""
        intervals = {p: [] for p in ALL}
        for m in members:
            owned = [(e[0], e[2]["parts"]) for e in m.of("owned")]
            end = m.killed_at if m.killed_at is not None else float("inf")
            for i, (t, parts) in enumerate(owned):
                until = owned[i + 1][0] if i + 1 < len(owned) else end
                for p in parts:
                    intervals[p].append((t, until, m.name))
        for p, spans in intervals.items():
            spans.sort()
            for (t1, u1, n1), (t2, u2, n2) in zip(spans, spans[1:]):
                self.assertLessEqual(u1, t2, f"partition {p}: owned by {n1} [{t1}, {u1}] and "
                                     f"{n2} [{t2}, {u2}] at once")

    def wait_quiet(self, members, quiet_s=1.0, timeout_s=STABLE_TIMEOUT_S):
        """Waits until the members have printed nothing for quiet_s."""
        def probe():
            last = max((m.events[-1][0] for m in members if m.events), default=0)
            return mono_ms() - last >= quiet_s * 1000
        self.wait_for(probe, f"{quiet_s} s without events", timeout_s, members)

    def check_commits_succeeded(self, members):
        for m in members:
            failed = [e[2]["line"] for e in m.of("commit")
                      if e[2]["error"] != "NO_ERROR"
                      or any(err for _, err in e[2]["offsets"].values())]
            self.assertEqual(failed, [], f"{m.name}: failed commits\n{m.transcript()}")

    def all_committed(self, members):
        """True when every message the members printed is covered by a commit of one of them."""
        done = {}
        for m in members:
            for p, o in m.committed_up_to().items():
                done[p] = max(done.get(p, -1), o)
        return all(done.get(p, -1) > o for m in members for p, o, _ in m.messages())

    def describe(self, group):
        out = groups_cmd(self.broker, "describe", group)
        self.assertIsNone(out["error"], out)
        [desc] = out["groups"]
        self.assertEqual((desc["group"], desc["error"]), (group, None), desc)
        return desc

    def check_describe_matches(self, group, topic, members, assignor):
        """DescribeGroups: Stable, the assignor's name, and the members with the assignments
        they reported (member id and client id)."""
        desc = self.describe(group)
        self.assertEqual((desc["state"], desc["assignor"], desc["simple"]),
                         ("Stable", assignor, False), desc)
        seen = {m["member_id"]: (m["client_id"], frozenset(p for t, p in m["partitions"]))
                for m in desc["members"]}
        self.assertEqual(seen, {m.member_id(): (m.name, m.owned()[1]) for m in members}, desc)
        for m in desc["members"]:
            self.assertEqual({t for t, _ in m["partitions"]} - {topic}, set(), m)

    def committed(self, group, topic):
        out = groups_cmd(self.broker, "committed", group, topic, PARTITIONS)
        self.assertEqual((out["error"], out["errors"]), (None, [None] * PARTITIONS), out)
        return out["offsets"]

    # ---- tests ----

    def test_each_partition_has_one_owner_and_a_killed_members_partitions_move_on(self):
        group, topic = "owners", "shared"
        harness.create_topic(self.broker, topic, PARTITIONS)
        produce(self.broker, topic, 120)
        a = self.member(group, topic, "A")
        self.assertEqual(self.wait_stable([a]), {"A": ALL})
        b = self.member(group, topic, "B")
        stable = self.wait_stable([a, b])
        self.assertEqual(sorted(len(s) for s in stable.values()), [3, 3], stable)
        c = self.member(group, topic, "C")
        stable = self.wait_stable([a, b, c])
        self.assertEqual(sorted(len(s) for s in stable.values()), [2, 2, 2], stable)
        self.check_describe_matches(group, topic, [a, b, c], "range")

        # Every message read once: a member commits what it read before a rebalance takes a
        # partition away (Kafka accepts commits of the current generation while the group
        # prepares a rebalance), and the next owner starts there.
        everything = {value_of(i) for i in range(120)}
        self.wait_for(lambda: {v for m in (a, b, c) for _, _, v in m.messages()} == everything,
                      "120 messages read")
        self.wait_quiet([a, b, c])
        self.check_commits_succeeded([a, b, c])
        self.assertEqual(read_twice([a, b, c]), [], self.transcripts())
        for m in (a, b, c):
            m.command("commit")
        self.wait_for(lambda: self.all_committed([a, b, c]), "commits of what was read")
        before_kill = {m.name: len(m.messages()) for m in (a, b)}

        c.kill()
        stable = self.wait_stable([a, b], timeout_s=SESSION_TIMEOUT_MS / 1000 + 15)
        self.assertEqual(sorted(len(s) for s in stable.values()), [3, 3], stable)
        taken_over = max(m.of("owned")[-1][0] for m in (a, b))
        waited_ms = taken_over - c.killed_at
        print(f"\nsurvivors own all partitions {waited_ms:.0f} ms after SIGKILL "
              f"(session.timeout.ms={SESSION_TIMEOUT_MS})", flush=True)
        # Kafka drops a member when its session times out, not when its connection closes; the
        # last heartbeat was at most heartbeat.interval.ms before the kill.
        self.assertGreaterEqual(waited_ms, SESSION_TIMEOUT_MS - HEARTBEAT_MS - 300,
                                f"partitions moved before the session timed out\n"
                                f"{self.transcripts()}")
        self.assertLessEqual(waited_ms, SESSION_TIMEOUT_MS + 10_000, self.transcripts())
        self.check_describe_matches(group, topic, [a, b], "range")

        # The survivors read on from the commits: the new messages, nothing older.
        produce(self.broker, topic, 60, first=120)
        new = {value_of(i) for i in range(120, 180)}
        self.wait_for(lambda: {v for m in (a, b) for _, _, v in m.messages()} >= new,
                      "60 new messages read by the survivors")
        after = [v for m in (a, b) for _, _, v in m.messages()[before_kill[m.name]:]]
        self.assertEqual(sorted(after), sorted(new), "read after the kill (expected only new)")

        for m in (a, b):
            m.close()
        desc = self.describe(group)
        self.assertEqual((desc["state"], desc["members"]), ("Empty", []), desc)
        self.assertEqual(self.committed(group, topic), [30] * PARTITIONS)
        self.check_commits_succeeded([a, b, c])
        for m in (a, b, c):
            self.assertEqual(m.of("lost"), [], m.transcript())
            self.assertEqual({e[2]["protocol"] for e in m.of("assign")}, {"EAGER"})
        self.check_generations([a, b, c])
        self.check_one_owner_at_a_time([a, b, c])
        for m in (a, b, c):
            for p, o, v in m.messages():
                self.assertEqual(v, value_of(o * PARTITIONS + p), (m.name, p, o, v))

    def test_members_resume_at_committed_offsets_after_a_broker_restart(self):
        group, topic, count = "resume", "numbered", 600
        harness.create_topic(self.broker, topic, PARTITIONS)
        produce(self.broker, topic, count)

        first = [self.member(group, topic, name, args=["--max", 150, "--commit-every", 10])
                 for name in ("A", "B")]
        self.wait_for(lambda: all(m.of("max") for m in first), "150 messages read by A and B",
                      members=first)
        for m in first:
            m.close()
        phase1 = [(p, o, v) for m in first for p, o, v in m.messages()]
        self.assertEqual(read_twice(first), [], self.transcripts(first))
        self.assertEqual(len(phase1), 300)
        committed = self.committed(group, topic)
        # What was read of each partition is its prefix up to the committed offset (none
        # committed, -1001, where nothing was read).
        self.assertNotIn(-1, committed)
        committed = [0 if o == -1001 else o for o in committed]
        for p in range(PARTITIONS):
            self.assertEqual(sorted(o for q, o, _ in phase1 if q == p),
                             list(range(committed[p])), f"partition {p}")
        self.assertEqual(sum(committed), 300, committed)

        self.broker.restart()
        self.assertEqual([0 if o == -1001 else o for o in self.committed(group, topic)],
                         committed, "committed offsets changed")

        second = [self.member(group, topic, name) for name in ("C", "D")]
        everything = {value_of(i) for i in range(count)}
        self.wait_for(lambda: {v for _, _, v in phase1}
                      | {v for m in second for _, _, v in m.messages()} >= everything,
                      "the other 300 messages read by C and D", members=second)
        for m in second:
            m.close()
        phase2 = [(p, o, v) for m in second for p, o, v in m.messages()]
        self.assertEqual(read_twice(second), [], self.transcripts(second))
        self.assertEqual({v for _, _, v in phase1} & {v for _, _, v in phase2}, set(),
                         "read again after the restart")
        self.assertEqual(sorted(v for _, _, v in phase1 + phase2), sorted(everything))
        for p in range(PARTITIONS):
            offsets = sorted(o for q, o, _ in phase2 if q == p)
            self.assertEqual(offsets, list(range(committed[p], count // PARTITIONS)),
                             f"partition {p} after the restart")
        for p, o, v in phase1 + phase2:
            self.assertEqual(v, value_of(o * PARTITIONS + p))
        self.assertEqual(self.committed(group, topic), [count // PARTITIONS] * PARTITIONS)
        self.check_commits_succeeded(first + second)
        self.check_one_owner_at_a_time(first)
        self.check_one_owner_at_a_time(second)

    def check_assignor(self, strategy):
        group, topic = f"assign-{strategy}", "spread"
        conf = [f"partition.assignment.strategy={strategy}"]
        members = []
        for name in ("A", "B", "C"):
            members.append(self.member(group, topic, name, conf=conf))
            stable = self.wait_stable(members)
        self.assertEqual(sorted(len(s) for s in stable.values()), [2, 2, 2], stable)
        self.check_describe_matches(group, topic, members, strategy)
        cooperative = strategy == "cooperative-sticky"
        for m in members:
            self.assertEqual({e[2]["protocol"] for e in m.of("assign")},
                             {"COOPERATIVE" if cooperative else "EAGER"}, m.transcript())
            self.assertEqual(m.of("lost"), [], m.transcript())
        layouts = {frozenset(s) for s in stable.values()}
        if strategy == "range":  # contiguous ranges, by member id
            self.assertEqual(layouts, {frozenset({0, 1}), frozenset({2, 3}), frozenset({4, 5})})
        elif strategy == "roundrobin":
            self.assertEqual(layouts, {frozenset({0, 3}), frozenset({1, 4}), frozenset({2, 5})})
        else:
            # Incremental: only what must move is revoked. B's arrival takes 3 partitions from
            # A; C's takes one from each of A and B.
            revoked = {m.name: sum(len(e[2]["parts"]) for e in m.of("revoke")) for m in members}
            self.assertEqual(revoked, {"A": 4, "B": 1, "C": 0}, self.transcripts(members))
            # C got exactly what A and B gave up after it came.
            given_up = set().union(*[e[2]["parts"] for m in members[:2] for e in m.of("revoke")
                                     if e[0] > members[2].started_at])
            self.assertEqual(stable["C"], given_up, self.transcripts(members))
        self.check_generations(members)
        self.check_one_owner_at_a_time(members)
        for m in members:
            m.close()
        desc = self.describe(group)
        self.assertEqual((desc["state"], desc["members"]), ("Empty", []), desc)

    def test_range_roundrobin_and_cooperative_sticky_give_complete_disjoint_assignments(self):
        harness.create_topic(self.broker, "spread", PARTITIONS)
        for strategy in ("range", "roundrobin", "cooperative-sticky"):
            with self.subTest(strategy=strategy):
                self.check_assignor(strategy)

    def test_list_groups_offset_delete_and_group_delete(self):
        group, topic = "tidy", "kept"
        harness.create_topic(self.broker, topic, PARTITIONS)
        produce(self.broker, topic, 30)
        a = self.member(group, topic, "A")
        self.wait_for(lambda: len(a.messages()) == 30, "30 messages read by A")
        a.command("commit")
        self.wait_for(lambda: self.all_committed([a]), "A's commit")
        self.assertEqual(self.committed(group, topic), [5] * PARTITIONS)

        listed = groups_cmd(self.broker, "list-groups")
        self.assertEqual((listed["error"], listed["errors"]), (None, []), listed)
        self.assertIn({"group": group, "state": "Stable", "simple": False}, listed["groups"])
        # A group subscribed to the topic keeps its offsets (GROUP_SUBSCRIBED_TO_TOPIC), and a
        # group with members cannot be deleted (NON_EMPTY_GROUP).
        out = groups_cmd(self.broker, "delete-offsets", group, topic, 0, 1)
        self.assertEqual((out["error"], out["group"], out["group_error"], out["partitions"]),
                         (None, group, None, [[0, "GROUP_SUBSCRIBED_TO_TOPIC"],
                                              [1, "GROUP_SUBSCRIBED_TO_TOPIC"]]), out)
        out = groups_cmd(self.broker, "delete-groups", group)
        self.assertEqual(out, {"error": None, "groups": [{"group": group,
                                                          "error": "NON_EMPTY_GROUP"}]})
        self.assertEqual(self.committed(group, topic), [5] * PARTITIONS)

        a.close()
        listed = groups_cmd(self.broker, "list-groups")
        self.assertIn({"group": group, "state": "Empty", "simple": False}, listed["groups"])
        out = groups_cmd(self.broker, "delete-offsets", group, topic, 0, 1)
        self.assertEqual((out["error"], out["group_error"], out["partitions"]),
                         (None, None, [[0, None], [1, None]]), out)
        self.assertEqual(self.committed(group, topic), [-1001, -1001] + [5] * (PARTITIONS - 2))

        out = groups_cmd(self.broker, "delete-groups", group)
        self.assertEqual(out, {"error": None, "groups": [{"group": group, "error": None}]})
        listed = groups_cmd(self.broker, "list-groups")
        self.assertNotIn(group, [g["group"] for g in listed["groups"]], listed)
        self.assertEqual(self.committed(group, topic), [-1001] * PARTITIONS)
        out = groups_cmd(self.broker, "delete-groups", group)
        self.assertEqual(out, {"error": None, "groups": [{"group": group,
                                                          "error": "GROUP_ID_NOT_FOUND"}]})
        # A new member of the group name starts over (auto.offset.reset=earliest).
        b = self.member(group, topic, "B")
        self.wait_for(lambda: len(b.messages()) == 30, "30 messages read again by B")
        b.close()
        self.assertEqual(read_twice([b]), [])


if __name__ == "__main__":
    harness.main()
