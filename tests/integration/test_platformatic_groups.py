"""@platformatic/kafka 1.x (Node.js) in a consumer group on Quire
(tests/clients/node/platformatic_groups.mjs). This client only speaks the flexible group versions
(FindCoordinator 4-6, JoinGroup 6-9, SyncGroup 4-5, Heartbeat 4, LeaveGroup 4-5, OffsetCommit 8-9,
OffsetFetch 8-9 with its groups array, DescribeGroups 5, ListGroups 4-5, DeleteGroups 2,
OffsetDelete 0), so this suite is the proof those versions work: the versions it sent are checked.

Two consumers of one group split a 4-partition topic (consumer:group:join payloads): c1 joins
alone and gets every partition, c2's join makes c1 rebalance (its Heartbeat answered
REBALANCE_IN_PROGRESS), and both end in one later generation with one leader, their member ids
kept, and disjoint assignments covering every partition; every message is consumed
exactly once across the two, each from its own partitions and in offset order, and committed one
by one (message.commit()). While they are in the group: describeGroups shows them (Stable, the
roundrobin protocol, member ids "<clientId>-<uuid>", subscriptions and assignments as they
reported), listGroups shows the group as Stable (also through a states filter; a filter of Empty
leaves it out), and deleteGroups fails with NON_EMPTY_GROUP. After both left: the committed
offsets equal the partitions' end offsets, the group is Empty (no members, no protocol) and listed
as such, OffsetDelete drops one partition's offset, deleteGroups succeeds, after which listGroups
leaves the group out and OffsetFetch finds no offsets (-1)."""

import collections
import os

import client_programs
import harness

SCRIPT = os.path.join(client_programs.NODE_DIR, "platformatic_groups.mjs")
MIN_NODE = (20, 19, 4)
BROKER_OVERRIDES = ["auto.create.topics.enable=false", "group.min.session.timeout.ms=1000"]
NON_EMPTY_GROUP = 68
# API key -> the version this client must have used: the newest it implements, all of them
# flexible (Quire advertises at least these).
EXPECTED_GROUP_VERSIONS = {
    "8": ("OffsetCommit", [9]),
    "9": ("OffsetFetch", [9]),
    "10": ("FindCoordinator", [6]),
    "11": ("JoinGroup", [9]),
    "12": ("Heartbeat", [4]),
    "13": ("LeaveGroup", [5]),
    "14": ("SyncGroup", [5]),
    "15": ("DescribeGroups", [5]),
    "16": ("ListGroups", [5]),
    "42": ("DeleteGroups", [2]),
    "47": ("OffsetDelete", [0]),
}
_node = None


def setUpModule():
    global _node
    _node = client_programs.node(min_version=MIN_NODE, packages=["@platformatic/kafka"])


def committed(out_groups, group, topic):
    """[(partition, offset)] of one group and topic in a listConsumerGroupOffsets result."""
    [g] = out_groups
    assert g["groupId"] == group, out_groups
    [t] = g["topics"]
    assert t["name"] == topic, out_groups
    return [tuple(p) for p in t["partitions"]]


class PlatformaticGroups(harness.BrokerTestCase):
    def test_two_consumers_share_a_topic_commit_and_the_admin_sees_and_deletes_the_group(self):
        broker = self.start_broker(BROKER_OVERRIDES)
        topic, group, partitions, count = "shared", "platformatic-group", 4, 200
        per_partition = count // partitions
        harness.create_topic(broker, topic, partitions)
        out = client_programs.run_json([_node, SCRIPT, broker.bootstrap, topic, group,
                                        str(count)], cwd=client_programs.NODE_DIR, timeout_s=90)
        self.assertEqual(out["version"].split(".")[0], "1", out["version"])
        self.assertEqual((out["partitions"], out["errors"]), (partitions, []))

        # The flexible versions were the ones used.
        sent = {key: (name, out["requests"].get(key))
                for key, (name, _) in EXPECTED_GROUP_VERSIONS.items()}
        self.assertEqual(sent, EXPECTED_GROUP_VERSIONS)

        # c1 joined alone first (consume() returns once joined): the whole topic, as leader.
        # c2 joining made it rebalance. The last join of each: one later generation, one
        # leader, disjoint assignments covering the topic (roundrobin: two partitions each).
        joins = out["joins"]
        first = joins["c1"][0]
        self.assertEqual((first["isLeader"], first["assignments"]),
                         (True, [{"topic": topic, "partitions": list(range(partitions))}]), joins)
        last = {name: js[-1] for name, js in joins.items()}
        self.assertEqual(len({j["generationId"] for j in last.values()}), 1, last)
        self.assertGreater(last["c1"]["generationId"], first["generationId"], joins)
        self.assertEqual(sorted(j["isLeader"] for j in last.values()), [False, True], last)
        owned = {}
        for name, join in last.items():
            [assignment] = join["assignments"]
            self.assertEqual(assignment["topic"], topic, join)
            owned[name] = assignment["partitions"]
        self.assertEqual(sorted(p for ps in owned.values() for p in ps), list(range(partitions)),
                         owned)
        self.assertEqual(sorted(map(len, owned.values())), [2, 2], owned)
        member_ids = {name: j["memberId"] for name, j in last.items()}
        for name, member_id in member_ids.items():
            # Kafka's member ids: the client id, a dash, a UUID.
            self.assertRegex(member_id, rf"^quire-it-{name}-[0-9a-f]{{8}}(-[0-9a-f]{{4}}){{3}}"
                                        r"-[0-9a-f]{12}$")
            # A member keeps its id through the rebalance.
            self.assertEqual({j["memberId"] for j in joins[name]}, {member_id}, joins)
        self.assertNotEqual(member_ids["c1"], member_ids["c2"])

        # Exactly once across both, each from its own partitions, in offset order.
        consumed = out["consumed"]
        values = collections.Counter(v for _, _, _, _, v in consumed)
        self.assertEqual([v for v, n in values.items() if n > 1], [], "consumed twice")
        self.assertEqual(sorted(values), sorted(f"v{i}" for i in range(count)))
        for name, parts in owned.items():
            mine = [(p, int(o), k, v) for c, p, o, k, v in consumed if c == name]
            self.assertEqual({p for p, _, _, _ in mine}, set(parts), name)
            for p in parts:
                expected = [(o, f"k{o * partitions + p}", f"v{o * partitions + p}")
                            for o in range(per_partition)]
                self.assertEqual([(o, k, v) for q, o, k, v in mine if q == p], expected,
                                 f"{name} partition {p}")

        # While both are in the group.
        [active] = out["describeActive"]
        self.assertEqual((active["id"], active["state"], active["protocolType"],
                          active["protocol"]),
                         (group, "STABLE", "consumer", "roundrobin"), active)
        described = {m["id"]: (m["clientId"], m["groupInstanceId"], m["subscription"],
                               m["assignment"]) for m in active["members"]}
        self.assertEqual(described, {member_ids[n]: (f"quire-it-{n}", None, [topic],
                                                     [{"topic": topic, "partitions": owned[n]}])
                                     for n in ("c1", "c2")})
        for m in active["members"]:
            self.assertRegex(m["clientHost"], r"^/?127\.0\.0\.1$", m)
        listed = {"id": group, "state": "STABLE", "groupType": "classic",
                  "protocolType": "consumer"}
        self.assertEqual(out["listActive"], [listed])
        self.assertEqual(out["listActiveStable"], [listed])
        self.assertEqual(out["listActiveEmpty"], [])
        self.assertIn("error", out["deleteActive"], out["deleteActive"])
        self.assertEqual(out["deleteActive"]["codes"], [NON_EMPTY_GROUP], out["deleteActive"])

        # After both left: committed offsets at the end of every partition.
        ends = [(topic, [(p, str(per_partition)) for p in range(partitions)])]
        self.assertEqual([(t["name"], [tuple(p) for p in t["partitions"]]) for t in out["ends"]],
                         ends)
        self.assertEqual(committed(out["committed"], group, topic), ends[0][1])
        [after] = out["describeAfter"]
        self.assertEqual((after["id"], after["state"], after["protocolType"], after["protocol"],
                          after["members"]), (group, "EMPTY", "consumer", "", []), after)
        empty = dict(listed, state="EMPTY")
        self.assertEqual(out["listAfter"], [empty])
        self.assertEqual(out["listAfterEmpty"], [empty])

        # OffsetDelete on the empty group: that partition's offset is gone, the others stay.
        last_partition = partitions - 1
        self.assertEqual(out["offsetDelete"], {"ok": [{"name": topic,
                                                       "partitionIndexes": [last_partition]}]})
        self.assertEqual(committed(out["committedAfterOffsetDelete"], group, topic),
                         [(p, str(per_partition) if p != last_partition else "-1")
                          for p in range(partitions)])

        self.assertEqual(out["deleted"], {"ok": None})
        self.assertEqual(out["listAfterDelete"], [])
        self.assertEqual(committed(out["committedAfterDelete"], group, topic),
                         [(p, "-1") for p in range(partitions)])


if __name__ == "__main__":
    harness.main()
