"""@platformatic/kafka 1.x (Node.js, a strict modern client: Produce 7-11, Fetch 12-17 with topic
ids) writes and reads Quire's records: its idempotent Producer (InitProducerId, acks=all) with
keys, headers and timestamps in every codec; its Consumer's listOffsets (earliest, latest, by
timestamp) and listOffsetsWithTimestamps; the records read back with Consumer.fetch (Fetch by
topic id, no group joined: consumer groups come later), and a fetch past the end. The client is
tests/clients/node/platformatic_records.mjs. Its zstd codec uses node:zlib's zstd, which came in
Node.js 22.15: older Nodes (the client library itself needs 20.19.4) fall back to the Node.js 22
locked in tests/clients/node."""

import os

import client_programs
import harness

SCRIPT = os.path.join(client_programs.NODE_DIR, "platformatic_records.mjs")
MIN_NODE = (22, 15, 0)  # zlib.zstdCompressSync
NO_AUTO_CREATE = "auto.create.topics.enable=false"
BASE_TS = 1_700_000_000_000
OFFSET_OUT_OF_RANGE = 1
_node = None


def setUpModule():
    global _node
    _node = client_programs.node(min_version=MIN_NODE, packages=["@platformatic/kafka"])


def platformatic_records(broker, topic, count, codec):
    return client_programs.run_json([_node, SCRIPT, broker.bootstrap, topic, str(count), codec],
                                    cwd=client_programs.NODE_DIR, timeout_s=90)


class PlatformaticRecords(harness.BrokerTestCase):
    def test_every_codec_produce_list_offsets_and_fetch(self):
        broker = self.start_broker([NO_AUTO_CREATE])
        count = 200
        for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
            with self.subTest(codec=codec):
                topic = f"records-{codec}"
                harness.create_topic(broker, topic, 2)
                out = platformatic_records(broker, topic, count, codec)
                # Each send reports the base offset of its batch on partition 0.
                self.assertEqual(out["sent"], [{"topic": topic, "partition": 0, "offset": "0"},
                                               {"topic": topic, "partition": 0,
                                                "offset": str(count // 2)}])
                self.assertEqual((out["earliest"], out["latest"]), (["0", "0"], [str(count), "0"]))
                # By timestamp: first offset at or after it; none (-1) after the last record
                # and on the empty partition.
                self.assertEqual(out["byTimestamp"], {
                    str(BASE_TS - 1): ["0", "-1"],
                    str(BASE_TS + 10 * (count // 2) - 5): [str(count // 2), "-1"],
                    str(BASE_TS + 10 * count): ["-1", "-1"]})
                self.assertEqual(out["withTimestamp"],
                                 [[0, str(count // 2), str(BASE_TS + 10 * (count // 2))],
                                  [1, "-1", "-1"]])
                self.assertEqual((out["highWatermark"], out["logStartOffset"]), (str(count), "0"))
                self.assertEqual(out["records"],
                                 [{"offset": str(i), "key": f"key-{i}", "value": f"value-{i}",
                                   "timestamp": str(BASE_TS + 10 * i),
                                   "headers": [["n", str(i)], ["codec", codec]]}
                                  for i in range(count)])
                past_end = out["pastEnd"]
                if "error" in past_end:
                    codes = [e["apiCode"] for e in past_end["error"]["errors"]] or \
                        [past_end["error"]["apiCode"]]
                    self.assertIn(OFFSET_OUT_OF_RANGE, codes, past_end)
                else:
                    self.assertEqual(past_end, {"errorCode": OFFSET_OUT_OF_RANGE, "records": 0})


if __name__ == "__main__":
    harness.main()
