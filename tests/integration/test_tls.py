"""TLS (SSL listeners): kcat, confluent-kafka and kafka-python read metadata over TLS; client
certificates (ssl.client.auth) give the principal; PLAINTEXT and SSL listeners side by side
advertise their own ports; bad handshakes close only their connection; PEM keystores as files,
as encrypted keys and as text in the config; ssl.enabled.protocols and ssl.cipher.suites.

The certificates (a CA, a server certificate for IP 127.0.0.1, a client certificate, and one from
a CA the broker does not trust) are made once with the openssl CLI in a temporary directory
(certs.py)."""

import gc
import json
import re
import shutil
import socket
import struct
import subprocess
import tempfile

from confluent_kafka.admin import AdminClient
from kafka import KafkaAdminClient

import certs as test_certs
import harness

TIMEOUT_S = 30
CLIENT_DN = test_certs.CLIENT_DN
KEY_PASSWORD = test_certs.KEY_PASSWORD
certs = {}  # name -> path
_cert_dir = None


def setUpModule():
    global _cert_dir
    _cert_dir = tempfile.mkdtemp(prefix="quire-tls-")
    certs.update(test_certs.create(_cert_dir, KEY_PASSWORD))


def tearDownModule():
    if _cert_dir:
        shutil.rmtree(_cert_dir, ignore_errors=True)


def read(name):
    with open(certs[name], encoding="ascii") as f:
        return f.read()


def ssl_overrides(*extra):
    return [f"ssl.keystore.location={certs['keystore.pem']}", *extra]


# ---- clients -------------------------------------------------------------------------------

def kcat(bootstrap, *args, tls=True, client_cert=False, metadata_timeout_s=10, check=True):
    argv = ["kcat", "-b", bootstrap, "-m", str(metadata_timeout_s)]
    if tls:
        argv += ["-X", "security.protocol=ssl", "-X", f"ssl.ca.location={certs['ca.pem']}"]
    if client_cert:
        argv += ["-X", f"ssl.certificate.location={certs['client.pem']}",
                 "-X", f"ssl.key.location={certs['client.key']}"]
    argv += list(args)
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def kcat_brokers(bootstrap, **kwargs):
    out = kcat(bootstrap, "-L", "-J", **kwargs).stdout
    try:
        return json.loads(out)["brokers"]
    except ValueError as e:
        raise AssertionError(f"kcat -L -J printed no JSON: {e}\n{out}") from e


def confluent_metadata(bootstrap, tls=True):
    conf = {"bootstrap.servers": bootstrap}
    if tls:
        conf.update({"security.protocol": "SSL", "ssl.ca.location": certs["ca.pem"]})
    admin = AdminClient(conf)
    try:
        return admin.list_topics(timeout=10)
    finally:
        del admin
        gc.collect()


def kafka_python_cluster(bootstrap, tls=True, client_cert=False):
    kwargs = {"bootstrap_servers": bootstrap, "api_version_auto_timeout_ms": 10000}
    if tls:
        kwargs.update(security_protocol="SSL", ssl_cafile=certs["ca.pem"])
    if client_cert:
        kwargs.update(ssl_certfile=certs["client.pem"], ssl_keyfile=certs["client.key"])
    admin = KafkaAdminClient(**kwargs)
    try:
        return admin.describe_cluster()
    finally:
        admin.close()


def s_client(port, *args):
    """openssl s_client against the broker; returns (exit status, output)."""
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", certs["ca.pem"],
            "-verify_return_error", "-brief", *args]
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    return proc.returncode, proc.stdout + proc.stderr


def api_versions_frame():
    header = struct.pack(">hhih", 18, 0, 1, 4) + b"test"
    return struct.pack(">i", len(header)) + header


def read_until_closed(sock):
    """Everything the peer sends until it closes; a reset counts as closed."""
    data = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return data
            data += chunk
    except ConnectionResetError:
        return data


class TlsMetadata(harness.BrokerTestCase):
    def start_ssl(self, *extra, listeners="SSL://127.0.0.1:0"):
        return self.start_broker(ssl_overrides(*extra), listeners=listeners)

    def test_kcat_reads_metadata_over_tls(self):
        broker = self.start_ssl()
        self.assertEqual(kcat_brokers(broker.bootstrap),
                         [{"id": 1, "name": f"127.0.0.1:{broker.port}"}])

    def test_confluent_kafka_reads_metadata_over_tls(self):
        broker = self.start_ssl()
        md = confluent_metadata(broker.bootstrap)
        self.assertEqual(sorted(md.brokers), [1])
        b = md.brokers[1]
        self.assertEqual((b.host, b.port), ("127.0.0.1", broker.port))
        self.assertEqual(md.cluster_id, broker.read_meta_properties()["cluster.id"])

    def test_kafka_python_reads_metadata_over_tls(self):
        broker = self.start_ssl()
        cluster = kafka_python_cluster(broker.bootstrap)
        self.assertEqual([(b["node_id"], b["host"], b["port"]) for b in cluster["brokers"]],
                         [(1, "127.0.0.1", broker.port)])
        self.assertEqual(cluster["cluster_id"], broker.read_meta_properties()["cluster.id"])

    def test_client_without_certificate_is_anonymous(self):
        broker = self.start_ssl("log.level=DEBUG")
        kcat_brokers(broker.bootstrap)
        broker.wait_for_log(r"TLS handshake with 127\.0\.0\.1:\d+ on SSL done: TLSv1\.3 \S+, "
                            r"principal User:ANONYMOUS")

    def test_each_listener_advertises_its_own_port(self):
        broker = self.start_ssl(listeners="PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0")
        plain, tls = broker.endpoints["PLAINTEXT"], broker.endpoints["SSL"]
        self.assertNotEqual(plain[1], tls[1])
        self.assertEqual(kcat_brokers(broker.bootstrap_of("PLAINTEXT"), tls=False),
                         [{"id": 1, "name": f"127.0.0.1:{plain[1]}"}])
        self.assertEqual(kcat_brokers(broker.bootstrap_of("SSL")),
                         [{"id": 1, "name": f"127.0.0.1:{tls[1]}"}])
        for bootstrap, tls_on, port in ((broker.bootstrap_of("PLAINTEXT"), False, plain[1]),
                                        (broker.bootstrap_of("SSL"), True, tls[1])):
            md = confluent_metadata(bootstrap, tls=tls_on)
            self.assertEqual(md.brokers[1].port, port)
            cluster = kafka_python_cluster(bootstrap, tls=tls_on)
            self.assertEqual([b["port"] for b in cluster["brokers"]], [port])

    def test_listeners_with_custom_names_use_the_protocol_map(self):
        broker = self.start_ssl(
            "listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:SSL",
            listeners="INTERNAL://127.0.0.1:0,EXTERNAL://127.0.0.1:0")
        self.assertEqual(kcat_brokers(broker.bootstrap_of("EXTERNAL")),
                         [{"id": 1, "name": broker.bootstrap_of("EXTERNAL")}])
        self.assertEqual(kcat_brokers(broker.bootstrap_of("INTERNAL"), tls=False),
                         [{"id": 1, "name": broker.bootstrap_of("INTERNAL")}])


class TlsClientAuth(harness.BrokerTestCase):
    def start_required(self, *extra):
        return self.start_broker(
            ssl_overrides("ssl.client.auth=required", f"ssl.truststore.location={certs['ca.pem']}",
                          "log.level=DEBUG", *extra),
            listeners="SSL://127.0.0.1:0")

    def test_required_refuses_a_client_without_certificate(self):
        broker = self.start_required()
        proc = kcat(broker.bootstrap, "-L", metadata_timeout_s=3, check=False)
        self.assertNotEqual(proc.returncode, 0, proc.stdout)
        broker.wait_for_log(r"WARN .*TLS handshake with 127\.0\.0\.1:\d+ on SSL failed: "
                            r"peer did not return a certificate")
        # ... and keeps serving clients that have one
        self.assertEqual(kcat_brokers(broker.bootstrap, client_cert=True),
                         [{"id": 1, "name": broker.bootstrap}])

    def test_required_accepts_a_certificate_and_takes_its_subject_as_principal(self):
        broker = self.start_required()
        self.assertEqual(kcat_brokers(broker.bootstrap, client_cert=True),
                         [{"id": 1, "name": broker.bootstrap}])
        broker.wait_for_log(r"TLS handshake with 127\.0\.0\.1:\d+ on SSL done: .*principal User:"
                            + re.escape(CLIENT_DN) + r"\n")
        cluster = kafka_python_cluster(broker.bootstrap, client_cert=True)
        self.assertEqual([b["port"] for b in cluster["brokers"]], [broker.port])

    def test_mapping_rules_shape_the_principal(self):
        broker = self.start_required(
            "ssl.principal.mapping.rules=RULE:^CN=([^,]*),OU=Test,.*$/$1@test/U,DEFAULT")
        kcat_brokers(broker.bootstrap, client_cert=True)
        broker.wait_for_log(r"principal User:CLIENT@TEST\n")

    def test_certificate_from_an_untrusted_ca_is_refused(self):
        broker = self.start_required()
        s_client(broker.port, "-cert", certs["stranger.pem"], "-key", certs["stranger.key"])
        broker.wait_for_log(r"WARN .*TLS handshake with 127\.0\.0\.1:\d+ on SSL failed: "
                            r"certificate verify failed")
        self.assertEqual(kcat_brokers(broker.bootstrap, client_cert=True),
                         [{"id": 1, "name": broker.bootstrap}])

    def test_requested_lets_clients_without_certificate_in(self):
        broker = self.start_broker(
            ssl_overrides("ssl.client.auth=requested",
                          f"ssl.truststore.certificates={read('ca.pem')}", "log.level=DEBUG"),
            listeners="SSL://127.0.0.1:0")
        kcat_brokers(broker.bootstrap)
        broker.wait_for_log(r"principal User:ANONYMOUS\n")
        kcat_brokers(broker.bootstrap, client_cert=True)
        broker.wait_for_log(r"principal User:" + re.escape(CLIENT_DN) + r"\n")


class TlsBadPeers(harness.BrokerTestCase):
    def test_plaintext_to_the_tls_port_is_closed_and_the_broker_keeps_serving(self):
        broker = self.start_broker(ssl_overrides(), listeners="SSL://127.0.0.1:0")
        with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as sock:
            sock.sendall(api_versions_frame())
            read_until_closed(sock)  # closed (or reset): no Kafka answer
        broker.wait_for_log(r"WARN .*TLS handshake with 127\.0\.0\.1:\d+ on SSL failed: "
                            r"(wrong version number|http request|unknown protocol|"
                            r"packet length too long|record layer failure)")
        self.assertEqual(kcat_brokers(broker.bootstrap), [{"id": 1, "name": broker.bootstrap}])

    def test_tls_to_the_plaintext_port_is_closed_and_the_broker_keeps_serving(self):
        broker = self.start_broker(ssl_overrides(),
                                   listeners="PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0")
        status, out = s_client(broker.endpoints["PLAINTEXT"][1])
        self.assertNotEqual(status, 0, out)
        # the ClientHello's first bytes read as a huge frame length, and the log says why
        broker.wait_for_log(r"WARN .*closing 127\.0\.0\.1:\d+: frame of \d+ bytes exceeds.*"
                            r"looks like TLS sent to a plaintext listener")
        self.assertEqual(kcat_brokers(broker.bootstrap_of("PLAINTEXT"), tls=False),
                         [{"id": 1, "name": broker.bootstrap_of("PLAINTEXT")}])
        self.assertEqual(kcat_brokers(broker.bootstrap_of("SSL")),
                         [{"id": 1, "name": broker.bootstrap_of("SSL")}])

    def test_client_that_does_not_trust_the_broker_fails_and_is_logged(self):
        broker = self.start_broker(ssl_overrides(), listeners="SSL://127.0.0.1:0")
        argv = ["openssl", "s_client", "-connect", broker.bootstrap, "-CAfile",
                certs["other-ca.pem"], "-verify_return_error", "-brief"]
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=TIMEOUT_S)
        self.assertNotEqual(proc.returncode, 0)
        broker.wait_for_log(r"WARN .*TLS handshake with 127\.0\.0\.1:\d+ on SSL failed: "
                            r".*unknown ca")
        self.assertEqual(kcat_brokers(broker.bootstrap), [{"id": 1, "name": broker.bootstrap}])


class TlsStores(harness.BrokerTestCase):
    def test_encrypted_key_with_its_password(self):
        broker = self.start_broker([f"ssl.keystore.location={certs['keystore-enc.pem']}",
                                    f"ssl.key.password={KEY_PASSWORD}"],
                                   listeners="SSL://127.0.0.1:0")
        self.assertEqual(kcat_brokers(broker.bootstrap), [{"id": 1, "name": broker.bootstrap}])

    def test_encrypted_key_with_a_wrong_or_missing_password_stops_the_start(self):
        for extra, hint in ((["ssl.key.password=wrong"], "is ssl.key.password right"),
                            ([], "an encrypted key needs ssl.key.password")):
            broker = harness.Broker([f"ssl.keystore.location={certs['keystore-enc.pem']}",
                                     *extra], listeners="SSL://127.0.0.1:0")
            with self.assertRaises(harness.BrokerError) as ctx:
                broker.start()
            self.assertIn("exited with status 1", str(ctx.exception))
            log = broker.log_text()
            self.assertIn("listener SSL: cannot read the private key", log)
            self.assertIn(hint, log)

    def test_missing_keystore_stops_the_start_with_a_hint(self):
        broker = harness.Broker([], listeners="SSL://127.0.0.1:0")
        with self.assertRaises(harness.BrokerError):
            broker.start()
        self.assertIn("an SSL listener needs a keystore: ssl.keystore.location", broker.log_text())

    def test_pem_text_in_listener_prefixed_keys_without_line_breaks(self):
        # As a Kafka properties file gives PEM values continued with backslashes: one line.
        def one_line(name):
            return " ".join(read(name).split("\n")).strip()
        broker = self.start_broker(
            [f"listener.name.external.ssl.keystore.key={one_line('server.key')}",
             f"listener.name.external.ssl.keystore.certificate.chain={one_line('server.pem')}",
             f"listener.name.external.ssl.truststore.certificates={one_line('ca.pem')}",
             "listener.name.external.ssl.client.auth=required",
             "listener.security.protocol.map=EXTERNAL:SSL,PLAINTEXT:PLAINTEXT"],
            listeners="EXTERNAL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0")
        self.assertEqual(kcat_brokers(broker.bootstrap_of("EXTERNAL"), client_cert=True),
                         [{"id": 1, "name": broker.bootstrap_of("EXTERNAL")}])
        proc = kcat(broker.bootstrap_of("EXTERNAL"), "-L", metadata_timeout_s=3, check=False)
        self.assertNotEqual(proc.returncode, 0, "client auth of the prefixed key not applied")


class TlsVersionsAndSuites(harness.BrokerTestCase):
    def test_tls12_only(self):
        broker = self.start_broker(ssl_overrides("ssl.enabled.protocols=TLSv1.2"),
                                   listeners="SSL://127.0.0.1:0")
        status, out = s_client(broker.port, "-tls1_3")
        self.assertNotEqual(status, 0, out)
        status, out = s_client(broker.port, "-tls1_2")
        self.assertEqual(status, 0, out)
        self.assertIn("Protocol version: TLSv1.2", out)
        self.assertEqual(kcat_brokers(broker.bootstrap), [{"id": 1, "name": broker.bootstrap}])

    def test_default_offers_tls13_and_tls12(self):
        broker = self.start_broker(ssl_overrides(), listeners="SSL://127.0.0.1:0")
        for flag, version in (("-tls1_3", "TLSv1.3"), ("-tls1_2", "TLSv1.2")):
            status, out = s_client(broker.port, flag)
            self.assertEqual(status, 0, out)
            self.assertIn(f"Protocol version: {version}", out)

    def test_cipher_suites_take_iana_names(self):
        broker = self.start_broker(
            ssl_overrides("ssl.cipher.suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,"
                          "TLS_CHACHA20_POLY1305_SHA256"),
            listeners="SSL://127.0.0.1:0")
        status, out = s_client(broker.port, "-tls1_2")
        self.assertEqual(status, 0, out)
        self.assertIn("Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256", out)
        status, out = s_client(broker.port, "-tls1_3")
        self.assertEqual(status, 0, out)
        self.assertIn("Ciphersuite: TLS_CHACHA20_POLY1305_SHA256", out)
        status, out = s_client(broker.port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384")
        self.assertNotEqual(status, 0, out)

    def test_unknown_cipher_suite_stops_the_start(self):
        broker = harness.Broker(ssl_overrides("ssl.cipher.suites=TLS_NO_SUCH_SUITE"),
                                listeners="SSL://127.0.0.1:0")
        with self.assertRaises(harness.BrokerError):
            broker.start()
        self.assertIn("unknown cipher suite TLS_NO_SUCH_SUITE", broker.log_text())


if __name__ == "__main__":
    harness.main()
