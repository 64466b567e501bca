"""kafkajs 2.2 (Node.js) in a consumer group on Quire (tests/clients/node/kafkajs_groups.js): two
consumers of one group split the topic's partitions (GROUP_JOIN events: one generation, one
leader, disjoint assignments covering every partition); every message is consumed exactly once
across the two, each from its own partitions and in offset order; what they consumed is committed
(fetchOffsets after they disconnect); describeGroups shows the members with the assignments they
reported (kafkajs decodes them); deleteGroups fails with NON_EMPTY_GROUP while they are in the
group and succeeds once it is empty, after which listGroups leaves it out and fetchOffsets finds
no offsets (-1)."""

import collections
import os

import client_programs
import harness

SCRIPT = os.path.join(client_programs.NODE_DIR, "kafkajs_groups.js")
BROKER_OVERRIDES = ["auto.create.topics.enable=false", "group.min.session.timeout.ms=1000"]
NON_EMPTY_GROUP = 68
_node = None


def setUpModule():
    global _node
    _node = client_programs.node(packages=["kafkajs"])


class KafkajsGroups(harness.BrokerTestCase):
    def test_two_consumers_share_a_topic_commit_and_the_admin_sees_and_deletes_the_group(self):
        broker = self.start_broker(BROKER_OVERRIDES)
        topic, group, partitions, count = "shared", "kafkajs-group", 4, 400
        harness.create_topic(broker, topic, partitions)
        out = client_programs.run_json([_node, SCRIPT, broker.bootstrap, topic, group,
                                        str(count)], cwd=client_programs.NODE_DIR, timeout_s=90)
        self.assertEqual(out["kafkajs"].split(".")[:2], ["2", "2"], out["kafkajs"])
        self.assertEqual((out["partitions"], out["crashes"]), (partitions, []))

        # The last join of each: the same leader, disjoint assignments covering the topic.
        last = {name: joins[-1] for name, joins in out["joins"].items()}
        owned = {name: sorted(j["memberAssignment"][topic]) for name, j in last.items()}
        self.assertEqual(sorted(p for ps in owned.values() for p in ps), list(range(partitions)),
                         owned)
        self.assertEqual(sorted(map(len, owned.values())), [2, 2], owned)
        self.assertEqual(len({j["leaderId"] for j in last.values()}), 1, last)
        self.assertEqual(sorted(j["isLeader"] for j in last.values()), [False, True], last)
        self.assertEqual({j["groupProtocol"] for j in last.values()}, {"RoundRobinAssigner"})
        member_ids = {name: j["memberId"] for name, j in last.items()}

        # Exactly once across both, each from its own partitions, in order.
        consumed = out["consumed"]
        values = collections.Counter(v for _, _, _, v in consumed)
        self.assertEqual(sorted(values), sorted(f"v{i}" for i in range(count)))
        self.assertEqual([v for v, n in values.items() if n > 1], [], "consumed twice")
        for name, parts in owned.items():
            mine = [(p, int(o), v) for c, p, o, v in consumed if c == name]
            self.assertEqual({p for p, _, _ in mine}, set(parts), name)
            for p in parts:
                expected = [(o, f"v{o * partitions + p}") for o in range(count // partitions)]
                self.assertEqual([(o, v) for q, o, v in mine if q == p], expected,
                                 f"{name} partition {p}")

        [active] = out["describeActive"]
        self.assertEqual((active["groupId"], active["errorCode"], active["state"],
                          active["protocolType"], active["protocol"]),
                         (group, 0, "Stable", "consumer", "RoundRobinAssigner"), active)
        described = {m["memberId"]: (m["clientId"], m["subscription"],
                                     sorted(m["assignment"][topic])) for m in active["members"]}
        self.assertEqual(described, {member_ids[n]: (f"quire-it-{n}", [topic], owned[n])
                                     for n in ("c1", "c2")})
        error = out["deleteActive"].get("error")
        self.assertIsNotNone(error, out["deleteActive"])
        self.assertEqual(error["groups"], [{"groupId": group, "errorCode": NON_EMPTY_GROUP}],
                         error)

        # After both disconnected: committed offsets at the end of every partition.
        self.assertEqual([(o["topic"], sorted((p["partition"], p["offset"])
                                              for p in o["partitions"]))
                          for o in out["offsets"]],
                         [(topic, [(p, str(count // partitions)) for p in range(partitions)])])
        [after] = out["describeAfter"]
        self.assertEqual((after["errorCode"], after["state"], after["members"]),
                         (0, "Empty", []), after)
        self.assertIn({"groupId": group, "protocolType": "consumer"}, out["listAfter"])
        self.assertEqual(out["deleted"], {"result": [{"groupId": group, "errorCode": 0}]})
        self.assertNotIn(group, [g["groupId"] for g in out["listAfterDelete"]])
        self.assertEqual([(o["topic"], sorted((p["partition"], p["offset"])
                                              for p in o["partitions"]))
                          for o in out["offsetsAfterDelete"]],
                         [(topic, [(p, "-1") for p in range(partitions)])])


if __name__ == "__main__":
    harness.main()
