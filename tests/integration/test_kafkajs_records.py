"""kafkajs 2.2 (Node.js) writes and reads Quire's records: a plain producer (acks=-1, gzip) and an
idempotent one (InitProducerId) with keys, headers (one repeated) and timestamps; ListOffsets
through admin.fetchTopicOffsets (earliest and latest) and fetchTopicOffsetsByTimestamp; the
records read back through kafkajs's own Fetch (its Broker object: kafkajs has no consumer without
a group, and consumer groups come later); a fetch past the end gets OFFSET_OUT_OF_RANGE. The client
is tests/clients/node/kafkajs_records.js."""

import os

import client_programs
import harness

SCRIPT = os.path.join(client_programs.NODE_DIR, "kafkajs_records.js")
NO_AUTO_CREATE = "auto.create.topics.enable=false"
BASE_TS = 1_700_000_000_000
_node = None


def setUpModule():
    global _node
    _node = client_programs.node(packages=["kafkajs"])


def kafkajs_records(broker, topic, count):
    return client_programs.run_json([_node, SCRIPT, broker.bootstrap, topic, str(count)],
                                    cwd=client_programs.NODE_DIR, timeout_s=90)


class KafkajsRecords(harness.BrokerTestCase):
    def test_produce_list_offsets_and_fetch(self):
        broker = self.start_broker([NO_AUTO_CREATE])
        harness.create_topic(broker, "orders", 2)
        count = 400
        out = kafkajs_records(broker, "orders", count)
        self.assertEqual(out["kafkajs"].split(".")[:2], ["2", "2"], out["kafkajs"])
        # One send per producer; each reports its batch's base offset on partition 0. CreateTime
        # topics answer log_append_time -1.
        self.assertEqual([(s["partition"], s["errorCode"], s["baseOffset"], s["logAppendTime"])
                          for s in out["sent"]],
                         [(0, 0, "0", "-1"), (0, 0, str(count // 2), "-1")], out["sent"])
        self.assertEqual(sorted((o["partition"], o["low"], o["high"]) for o in out["offsets"]),
                         [(0, "0", str(count)), (1, "0", "0")])
        # By timestamp: the first offset at or after it. kafkajs itself turns "none" (-1) into
        # the latest offset, so after the last record (and on the empty partition) that is what
        # it reports.
        by_time = {int(ts): {o["partition"]: o["offset"] for o in offsets}
                   for ts, offsets in out["byTimestamp"].items()}
        self.assertEqual(by_time, {BASE_TS - 1: {0: "0", 1: "0"},
                                   BASE_TS + 10 * (count // 2) - 5: {0: str(count // 2), 1: "0"},
                                   BASE_TS + 10 * count: {0: str(count), 1: "0"}})
        self.assertEqual(out["highWatermark"], str(count))
        self.assertEqual(out["records"],
                         [{"offset": str(i), "key": f"key-{i}", "value": f"value-{i}",
                           "timestamp": str(BASE_TS + 10 * i),
                           "headers": {"n": str(i), "dup": ["a", "b"]}} for i in range(count)])
        error = out["pastEnd"].get("error")
        self.assertIsNotNone(error, out["pastEnd"])
        self.assertEqual((error["type"], error["code"]), ("OFFSET_OUT_OF_RANGE", 1), error)


if __name__ == "__main__":
    harness.main()
