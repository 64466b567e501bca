"""kafkajs 2.2 (Node.js) reads Quire's cluster metadata over PLAINTEXT and over SSL: the admin
client's describeCluster (brokers, controller, cluster id), listTopics, and fetchTopicMetadata of
a topic that does not exist. The client is tests/clients/node/kafkajs_metadata.js (packages from
tests/clients/node/package-lock.json, installed by tools/test)."""

import os

import certs
import client_programs
import harness

SCRIPT = os.path.join(client_programs.NODE_DIR, "kafkajs_metadata.js")
NO_AUTO_CREATE = "auto.create.topics.enable=false"
CERTS = certs.TempCerts("quire-kafkajs-tls-")
_node = None


def setUpModule():
    global _node
    _node = client_programs.node(packages=["kafkajs"])
    CERTS.make()


def tearDownModule():
    CERTS.remove()


def kafkajs_metadata(bootstrap, ca_file=None):
    argv = [_node, SCRIPT, bootstrap] + ([ca_file] if ca_file else [])
    return client_programs.run_json(argv, cwd=client_programs.NODE_DIR)


class KafkajsMetadata(harness.BrokerTestCase):
    def assert_metadata(self, out, broker, node_id, port):
        cluster = out["cluster"]
        self.assertEqual(cluster["brokers"], [{"nodeId": node_id, "host": "127.0.0.1",
                                               "port": port}], out)
        self.assertEqual(cluster["controller"], node_id, out)
        meta = broker.read_meta_properties()
        self.assertEqual(meta["node.id"], str(node_id))
        self.assertEqual(cluster["clusterId"], meta["cluster.id"], out)
        self.assertEqual(out["topics"], [], out)
        # fetchTopicMetadata rejects with the broker's topic error (code 3), after its retry
        error = out["missing"].get("error")
        self.assertIsNotNone(error, f"fetchTopicMetadata(['missing']) resolved: {out['missing']}")
        self.assertEqual((error["name"], error["type"], error["code"]),
                         ("KafkaJSProtocolError", "UNKNOWN_TOPIC_OR_PARTITION", 3), out)

    def test_metadata_over_plaintext(self):
        broker = self.start_broker(["node.id=7", NO_AUTO_CREATE])
        out = kafkajs_metadata(broker.bootstrap)
        self.assertEqual(out["kafkajs"].split(".")[:2], ["2", "2"], out)
        self.assert_metadata(out, broker, 7, broker.port)

    def test_metadata_over_ssl_and_plaintext_listeners_of_one_broker(self):
        client_programs.check_plaintext_and_ssl_listeners(self, CERTS, kafkajs_metadata,
                                                          [NO_AUTO_CREATE])


if __name__ == "__main__":
    harness.main()
