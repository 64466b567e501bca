"""Test certificates for SSL listeners, made with the openssl CLI (shared by the TLS suites).

create(directory) writes, in directory, a CA, a server certificate for IP 127.0.0.1 (and DNS
localhost), a client certificate, one from a CA the broker does not trust, and the server key
encrypted with KEY_PASSWORD; it returns {name: path} for:

    ca.key ca.pem                   the test CA (what clients and truststores trust)
    other-ca.key other-ca.pem       a second CA that nobody trusts
    server.key server.pem           the broker's key and certificate (signed by ca)
    keystore.pem                    server.key + server.pem: ssl.keystore.location for Quire
    keystore-enc.pem                the same with the key as encrypted PKCS#8 (KEY_PASSWORD)
    client.key client.pem           a client certificate (signed by ca), subject CLIENT_DN
    stranger.key stranger.pem       a client certificate signed by other-ca

Keys are P-256; certificates are valid for two days."""

import os
import shutil
import subprocess
import tempfile

TIMEOUT_S = 30
CLIENT_DN = "CN=client,OU=Test,O=Quire,C=US"
KEY_PASSWORD = "s3cret-key-pass"


def _openssl(*args):
    proc = subprocess.run(["openssl", *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def _issue(certs, cert_dir, ca, name, subject, extensions):
    """A P-256 key and a certificate signed by ca; returns (key path, certificate path)."""
    key, csr = os.path.join(cert_dir, f"{name}.key"), os.path.join(cert_dir, f"{name}.csr")
    cert, ext = os.path.join(cert_dir, f"{name}.pem"), os.path.join(cert_dir, f"{name}.ext")
    with open(ext, "w", encoding="ascii") as f:
        f.write(extensions)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", key, "-out", csr, "-subj", subject)
    _openssl("x509", "-req", "-in", csr, "-CA", certs[f"{ca}.pem"], "-CAkey", certs[f"{ca}.key"],
             "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
    return key, cert


def _ca(certs, cert_dir, name, subject):
    key, cert = os.path.join(cert_dir, f"{name}.key"), os.path.join(cert_dir, f"{name}.pem")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", subject)
    certs[f"{name}.key"], certs[f"{name}.pem"] = key, cert


def _concat(certs, cert_dir, name, *paths):
    out = os.path.join(cert_dir, name)
    with open(out, "w", encoding="ascii") as f:
        for p in paths:
            with open(p, encoding="ascii") as part:
                f.write(part.read())
    certs[name] = out
    return out


def create(cert_dir, key_password=KEY_PASSWORD):
    """Writes the certificates into cert_dir (which must exist); returns {name: path}."""
    certs = {}
    _ca(certs, cert_dir, "ca", "/CN=Quire Test CA")
    _ca(certs, cert_dir, "other-ca", "/CN=Untrusted CA")
    key, cert = _issue(certs, cert_dir, "ca", "server", "/CN=localhost",
                       "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    certs["server.key"], certs["server.pem"] = key, cert
    _concat(certs, cert_dir, "keystore.pem", key, cert)
    key, cert = _issue(certs, cert_dir, "ca", "client", "/C=US/O=Quire/OU=Test/CN=client",
                       "extendedKeyUsage=clientAuth\n")
    certs["client.key"], certs["client.pem"] = key, cert
    key, cert = _issue(certs, cert_dir, "other-ca", "stranger", "/CN=stranger",
                       "extendedKeyUsage=clientAuth\n")
    certs["stranger.key"], certs["stranger.pem"] = key, cert
    # the server key encrypted (PKCS#8, as Kafka reads it) and its keystore
    enc = os.path.join(cert_dir, "server-enc.key")
    _openssl("pkcs8", "-topk8", "-in", certs["server.key"], "-out", enc, "-v2", "aes-256-cbc",
             "-passout", f"pass:{key_password}")
    _concat(certs, cert_dir, "keystore-enc.pem", enc, certs["server.pem"])
    return certs


class TempCerts:
    """create() in a fresh temporary directory; remove() deletes it. For setUpModule and
    tearDownModule:

        CERTS = certs.TempCerts()
        def setUpModule(): CERTS.make()
        def tearDownModule(): CERTS.remove()
        ... CERTS["ca.pem"] ...
    """

    def __init__(self, prefix="quire-tls-"):
        self.prefix = prefix
        self.dir = None
        self.paths = {}

    def make(self):
        self.dir = tempfile.mkdtemp(prefix=self.prefix)
        self.paths = create(self.dir)
        return self

    def remove(self):
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __getitem__(self, name):
        return self.paths[name]

    def ssl_overrides(self, *extra):
        """Broker overrides that give every SSL listener the server keystore."""
        return [f"ssl.keystore.location={self.paths['keystore.pem']}", *extra]
