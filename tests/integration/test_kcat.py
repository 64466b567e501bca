"""kcat (librdkafka 2.0.2) reads Quire's metadata: brokers, node id, topics and their partitions,
unknown topics, and topics auto-created by its metadata request."""

import json
import subprocess

import harness
import kafka_frames

KCAT_TIMEOUT_S = 30
UNKNOWN_TOPIC = "Broker: Unknown topic or partition"
# Topics must not spring into existence when a client asks for them.
NO_AUTO_CREATE = ["auto.create.topics.enable=false"]


def kcat(broker, *args):
    """Runs kcat against broker; returns stdout, failing on a non-zero exit."""
    argv = ["kcat", "-b", broker.bootstrap, "-m", "10", *args]
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=KCAT_TIMEOUT_S)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc.stdout


def metadata_json(broker, *args):
    out = kcat(broker, "-L", "-J", *args)
    try:
        return json.loads(out)
    except ValueError as e:
        raise AssertionError(f"kcat -L -J printed no JSON: {e}\n{out}") from e


class KcatMetadata(harness.BrokerTestCase):
    def test_lists_the_single_broker_with_default_node_id_and_no_topics(self):
        broker = self.start_broker()
        md = metadata_json(broker)
        self.assertEqual(md["brokers"], [{"id": 1, "name": f"127.0.0.1:{broker.port}"}])
        self.assertEqual(md["originating_broker"]["id"], 1)
        self.assertEqual(md["topics"], [])

    def test_reports_the_configured_node_id(self):
        broker = self.start_broker(["node.id=7"])
        md = metadata_json(broker)
        self.assertEqual(md["brokers"], [{"id": 7, "name": f"127.0.0.1:{broker.port}"}])
        self.assertEqual(md["originating_broker"]["id"], 7)
        self.assertEqual(md["topics"], [])

    def test_two_brokers_answer_independently(self):
        first = self.start_broker()
        second = self.start_broker(["node.id=7"])
        self.assertNotEqual(first.port, second.port)
        self.assertEqual([b["id"] for b in metadata_json(first)["brokers"]], [1])
        self.assertEqual([b["id"] for b in metadata_json(second)["brokers"]], [7])

    def test_unknown_topic_is_reported_with_its_error(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        out = kcat(broker, "-L", "-t", "nosuchtopic")
        topic_lines = [line for line in out.splitlines() if 'topic "nosuchtopic"' in line]
        self.assertEqual(len(topic_lines), 1, out)
        self.assertIn(UNKNOWN_TOPIC, topic_lines[0], out)
        self.assertIn("with 0 partitions", topic_lines[0], out)
        self.assertIn(f"broker 1 at 127.0.0.1:{broker.port}", out)

    def test_unknown_topic_is_reported_with_its_error_in_json(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        md = metadata_json(broker, "-t", "nosuchtopic")
        self.assertEqual(len(md["topics"]), 1, md)
        topic = md["topics"][0]
        self.assertEqual(topic["topic"], "nosuchtopic")
        self.assertEqual(topic.get("error"), UNKNOWN_TOPIC, md)
        self.assertEqual(topic["partitions"], [])


def listing_with_topics(broker):
    """kcat -L -J of all topics, or None while it lists none."""
    md = metadata_json(broker)
    return md if md["topics"] else None


def partitions_of(md):
    """{topic: [(partition, leader, replicas, isrs)]} of kcat -L -J output."""
    return {t["topic"]: [(p["partition"], p["leader"], [r["id"] for r in p["replicas"]],
                          [r["id"] for r in p["isrs"]]) for p in t["partitions"]]
            for t in md["topics"]}


class KcatTopics(harness.BrokerTestCase):
    def test_lists_created_topics_with_their_partitions(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        self.assertEqual(kafka_frames.create_topics(broker, [("orders", 3, {}), ("audit", 1, {})]),
                         {"orders": 0, "audit": 0})
        md = metadata_json(broker)
        self.assertEqual([t.get("error") for t in md["topics"]], [None, None])
        self.assertEqual(partitions_of(md),
                         {"orders": [(i, 1, [1], [1]) for i in range(3)],
                          "audit": [(0, 1, [1], [1])]})
        # The same topics and counts as the broker's own Metadata v12 answer.
        raw = kafka_frames.listed_topics(broker)
        self.assertEqual({n: len(t["partitions"]) for n, t in raw.items()},
                         {"orders": 3, "audit": 1})

    def test_one_named_topic_is_listed_alone(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        kafka_frames.create_topics(broker, [("orders", 2, {}), ("audit", 1, {})])
        md = metadata_json(broker, "-t", "orders")
        self.assertEqual(partitions_of(md), {"orders": [(0, 1, [1], [1]), (1, 1, [1], [1])]})

    def test_plain_listing_names_topics_and_partition_counts(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        kafka_frames.create_topics(broker, [("orders", 2, {})])
        out = kcat(broker, "-L")
        self.assertIn(' topic "orders" with 2 partitions:', out)
        self.assertIn("partition 0, leader 1, replicas: 1, isrs: 1", out)
        self.assertIn("partition 1, leader 1, replicas: 1, isrs: 1", out)


class KcatAutoCreation(harness.BrokerTestCase):
    def test_listing_a_new_topic_creates_it_with_num_partitions(self):
        broker = self.start_broker(["num.partitions=3"])
        # kcat -L uses a producer handle, whose metadata requests allow auto-creation.
        # The first answer says LEADER_NOT_AVAILABLE while the controller creates the topic, as
        # Kafka's; librdkafka may ask again before kcat prints, and then sees it created.
        first = metadata_json(broker, "-t", "newtopic")
        self.assertIn([(t["topic"], t.get("error")) for t in first["topics"]],
                      ([("newtopic", "Broker: Leader not available")], [("newtopic", None)]))
        md = harness.wait_until(lambda: listing_with_topics(broker),
                                what="auto-created topic in kcat -L")
        self.assertEqual(partitions_of(md), {"newtopic": [(i, 1, [1], [1]) for i in range(3)]})
        self.assertEqual(broker.partition_dirs(), ["newtopic-0", "newtopic-1", "newtopic-2"])

    def test_new_topic_stays_unknown_when_auto_creation_is_disabled(self):
        broker = self.start_broker(NO_AUTO_CREATE + ["num.partitions=3"])
        md = metadata_json(broker, "-t", "newtopic")
        self.assertEqual(md["topics"][0].get("error"), UNKNOWN_TOPIC)
        md = metadata_json(broker, "-t", "newtopic")
        self.assertEqual(md["topics"][0].get("error"), UNKNOWN_TOPIC)
        self.assertEqual(metadata_json(broker)["topics"], [])
        self.assertEqual(broker.partition_dirs(), [])

    def test_consumer_offsets_is_not_created_by_listing_it(self):
        broker = self.start_broker()
        md = metadata_json(broker, "-t", "__consumer_offsets")
        self.assertEqual(md["topics"][0].get("error"), UNKNOWN_TOPIC)
        # A topic auto-created afterwards shows that earlier creations would have completed.
        metadata_json(broker, "-t", "later")
        md = harness.wait_until(lambda: listing_with_topics(broker),
                                what="auto-created topic 'later'")
        self.assertEqual([t["topic"] for t in md["topics"]], ["later"])


if __name__ == "__main__":
    harness.main()
