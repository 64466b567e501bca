"""sarama 1.22 (Go) in a consumer group on Quire (tests/clients/sarama_groups/main.go): two
sarama.ConsumerGroup members share a 4-partition topic. c1 joins alone and claims every
partition; c2 joining makes c1 rebalance (REBALANCE_IN_PROGRESS on its heartbeat, a new session):
both end in one generation with disjoint range claims covering the topic. Every message is
consumed exactly once across the two, each from its own claims and in offset order, and marked
(MarkMessage; sarama's offset manager commits). While both are in the group,
ClusterAdmin.DescribeConsumerGroups shows them (Stable, the range protocol, member ids
"<clientId>-<uuid>", subscriptions and assignments as claimed), ListConsumerGroups lists the group
as "consumer", and DeleteGroups gets NON_EMPTY_GROUP. After both left: the committed offsets, read
through ClusterAdmin.ListConsumerGroupOffsets and through an OffsetManager, equal the partitions'
newest offsets; the group is Empty and still listed; DeleteGroups succeeds; then the group is not
listed, DescribeGroups reports it Dead (v0: no error), a second DeleteGroups gets
GROUP_ID_NOT_FOUND, and OffsetFetch finds no offsets (-1).

config.Version is V2_2_0_0, so sarama sends the old group versions: FindCoordinator v0, JoinGroup
v1, SyncGroup/Heartbeat/LeaveGroup/DescribeGroups/ListGroups/DeleteGroups v0, OffsetFetch v1, and
OffsetCommit v2 (Consumer.Offsets.Retention is set: with the default, sarama 1.22 sends
OffsetCommit v1, which Kafka 4.0 removed and Quire does not serve).

The program is built once per run like test_sarama.py's."""

import collections
import shutil

import client_programs
import harness

BROKER_OVERRIDES = ["auto.create.topics.enable=false", "group.min.session.timeout.ms=1000"]
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
UUID_RE = r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}"
_work_dir = None
_binary = None


def setUpModule():
    global _work_dir, _binary
    _work_dir, _binary = client_programs.build_sarama_program("sarama_groups")


def tearDownModule():
    if _work_dir:
        shutil.rmtree(_work_dir, ignore_errors=True)


class SaramaGroups(harness.BrokerTestCase):
    def test_consumer_group_members_share_a_topic_commit_and_the_admin_sees_the_group(self):
        broker = self.start_broker(BROKER_OVERRIDES)
        topic, group, partitions, count = "shared", "sarama-group", 4, 200
        per_partition = count // partitions
        harness.create_topic(broker, topic, partitions)
        out = client_programs.run_json([_binary, broker.bootstrap, topic, group, str(count)],
                                       timeout_s=90)
        self.assertEqual(out["version"], "2.2.0", out["version"])
        self.assertEqual((out["partitions"], out["errors"]), (partitions, []))

        # c1 alone first: every partition; then one generation later both, with the range
        # strategy's halves (disjoint, covering the topic).
        sessions = out["sessions"]
        first = sessions["c1"][0]
        self.assertEqual(first["claims"], {topic: list(range(partitions))}, sessions)
        last = {name: s[-1] for name, s in sessions.items()}
        self.assertEqual(len({s["generation"] for s in last.values()}), 1, sessions)
        self.assertGreater(last["c1"]["generation"], first["generation"], sessions)
        owned = {name: s["claims"][topic] for name, s in last.items()}
        self.assertEqual([sorted(s["claims"]) for s in last.values()], [[topic], [topic]])
        self.assertEqual(sorted(p for ps in owned.values() for p in ps), list(range(partitions)),
                         owned)
        self.assertEqual(sorted(owned.values()), [[0, 1], [2, 3]], owned)
        member_ids = {name: s["member_id"] for name, s in last.items()}
        for name, member_id in member_ids.items():
            self.assertRegex(member_id, rf"^quire-it-{name}-{UUID_RE}$")
            # A member keeps its id through the rebalance.
            self.assertEqual({s["member_id"] for s in sessions[name]}, {member_id}, sessions)

        # Exactly once across both, each from its own claims, in offset order.
        consumed = out["consumed"]
        values = collections.Counter(v for _, _, _, _, v in consumed)
        self.assertEqual([v for v, n in values.items() if n > 1], [], "consumed twice")
        self.assertEqual(sorted(values), sorted(f"v{i}" for i in range(count)))
        for name, parts in owned.items():
            mine = [(p, o, k, v) for c, p, o, k, v in consumed if c == name]
            self.assertEqual({p for p, _, _, _ in mine}, set(parts), name)
            for p in parts:
                expected = [(o, f"k{o * partitions + p}", f"v{o * partitions + p}")
                            for o in range(per_partition)]
                self.assertEqual([(o, k, v) for q, o, k, v in mine if q == p], expected,
                                 f"{name} partition {p}")

        # While both are in the group.
        [active] = out["describe_active"]
        self.assertEqual((active["err"], active["group_id"], active["state"],
                          active["protocol_type"], active["protocol"]),
                         (0, group, "Stable", "consumer", "range"), active)
        described = {m["member_id"]: (m["client_id"], m["topics"], m["assignment"])
                     for m in active["members"]}
        self.assertEqual(described, {member_ids[n]: (f"quire-it-{n}", [topic], {topic: owned[n]})
                                     for n in ("c1", "c2")})
        for m in active["members"]:
            self.assertRegex(m["client_host"], r"^/?127\.0\.0\.1$", m)
        self.assertEqual(out["list_active"], {group: "consumer"})
        self.assertEqual(out["delete_active"], {group: NON_EMPTY_GROUP})

        # After both left: what was marked is committed, up to the end of every partition.
        self.assertEqual(out["ends"], [per_partition] * partitions)
        self.assertEqual(out["committed_admin"],
                         [{"partition": p, "offset": per_partition, "err": 0}
                          for p in range(partitions)])
        self.assertEqual(out["committed_manager"], out["ends"])
        [after] = out["describe_after"]
        self.assertEqual(after, {"err": 0, "group_id": group, "state": "Empty",
                                 "protocol_type": "consumer", "protocol": "", "members": []})
        self.assertEqual(out["list_after"], {group: "consumer"})

        self.assertEqual(out["deleted"], {group: 0})
        self.assertEqual(out["list_after_delete"], {})
        # DescribeGroups v0 of a group that does not exist: no error, state Dead (Kafka's
        # DeadGroup summary).
        [gone] = out["describe_after_delete"]
        self.assertEqual(gone, {"err": 0, "group_id": group, "state": "Dead",
                                "protocol_type": "", "protocol": "", "members": []})
        self.assertEqual(out["delete_again"], {group: GROUP_ID_NOT_FOUND})
        self.assertEqual(out["committed_after_delete"],
                         [{"partition": p, "offset": -1, "err": 0} for p in range(partitions)])


if __name__ == "__main__":
    harness.main()
