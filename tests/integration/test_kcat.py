"""kcat (librdkafka 2.0.2) reads Quire's metadata: brokers, node id, unknown topics."""

import json
import subprocess

import harness

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


if __name__ == "__main__":
    harness.main()
