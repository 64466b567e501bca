"""@platformatic/kafka 1.x (Node.js) reads Quire's cluster metadata over PLAINTEXT and over SSL:
the Admin client's metadata() (brokers, controller, cluster id), listTopics(), and metadata() of a
topic that does not exist. The client is tests/clients/node/platformatic_metadata.mjs (packages
from tests/clients/node/package-lock.json, installed by tools/test).

@platformatic/kafka 1.x needs Node.js >= 20.19.4 (its engines field); Debian 12's nodejs is 18,
so when the node on PATH is older this suite runs the Node.js 22 locked in tests/clients/node."""

import os

import certs
import client_programs
import harness

SCRIPT = os.path.join(client_programs.NODE_DIR, "platformatic_metadata.mjs")
MIN_NODE = (20, 19, 4)
NO_AUTO_CREATE = "auto.create.topics.enable=false"
CERTS = certs.TempCerts("quire-platformatic-tls-")
_node = None


def setUpModule():
    global _node
    _node = client_programs.node(min_version=MIN_NODE, packages=["@platformatic/kafka"])
    CERTS.make()


def tearDownModule():
    CERTS.remove()


def platformatic_metadata(bootstrap, ca_file=None):
    argv = [_node, SCRIPT, bootstrap] + ([ca_file] if ca_file else [])
    return client_programs.run_json(argv, cwd=client_programs.NODE_DIR)


class PlatformaticMetadata(harness.BrokerTestCase):
    def assert_metadata(self, out, broker, node_id, port):
        md = out["metadata"]
        self.assertEqual(md["brokers"], [{"nodeId": node_id, "host": "127.0.0.1", "port": port,
                                          "rack": None}], out)
        self.assertEqual(md["controllerId"], node_id, out)
        meta = broker.read_meta_properties()
        self.assertEqual(meta["node.id"], str(node_id))
        self.assertEqual(md["id"], meta["cluster.id"], out)
        self.assertEqual(md["topics"], [], out)
        self.assertEqual(out["topics"], [], out)
        # The client turns error code 3 (UNKNOWN_TOPIC_OR_PARTITION) at /topics/N of the response
        # into this message, naming the N-th requested topic; other errors pass through as they are.
        error = out["missing"].get("error")
        self.assertIsNotNone(error, f"metadata({{topics: ['missing']}}) resolved: {out['missing']}")
        self.assertEqual((error["code"], error["message"]),
                         ("PLT_KFK_USER", "Unknown topic missing."), out)

    def test_metadata_over_plaintext(self):
        broker = self.start_broker(["node.id=7", NO_AUTO_CREATE])
        out = platformatic_metadata(broker.bootstrap)
        self.assertEqual(out["platformatic"].split(".")[0], "1", out)
        self.assert_metadata(out, broker, 7, broker.port)

    def test_metadata_over_ssl_and_plaintext_listeners_of_one_broker(self):
        client_programs.check_plaintext_and_ssl_listeners(self, CERTS, platformatic_metadata,
                                                          [NO_AUTO_CREATE])


if __name__ == "__main__":
    harness.main()
