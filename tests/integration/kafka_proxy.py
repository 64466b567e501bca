"""A small TCP proxy between Kafka clients and a broker that misbehaves on purpose: it delays
Produce responses and drops connections instead of delivering chosen Produce responses, so a
client's requests reach the broker but the client never learns the outcome and must retry.

    proxy = KafkaProxy(drop_every=25, delay_s=0.01).start()   # binds 127.0.0.1:<port> first
    broker = start_broker([f"advertised.listeners=PLAINTEXT://127.0.0.1:{proxy.port}"])
    proxy.target = (broker.host, broker.port)                  # then points at the broker

The broker advertises the proxy, so every connection the client opens after bootstrapping goes
through it too. Requests and responses are parsed only as far as the frame length, the request
header (API key, correlation id) and the response's correlation id."""

import socket
import struct
import threading
import time

PRODUCE = 0


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _recv_frame(sock):
    head = _recv_exact(sock, 4)
    if head is None:
        return None
    body = _recv_exact(sock, struct.unpack(">i", head)[0])
    return None if body is None else head + body


class KafkaProxy:
    """drop_every: every Nth Produce response (counted over all connections) is swallowed and
    both sides of its connection closed, up to drops_max times; delay_s: every Produce response
    is held that long before it is forwarded (responses keep their order)."""

    def __init__(self, drop_every=0, drops_max=0, delay_s=0.0):
        self.drop_every = drop_every
        self.drops_max = drops_max
        self.delay_s = delay_s
        self.target = None
        self.lock = threading.Lock()
        self.requests = {}           # API key -> requests forwarded to the broker
        self.produce_responses = 0   # Produce responses seen from the broker
        self.drops = 0               # connections closed instead of delivering a response
        self.connections = 0
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closing = False
        self._socks = set()

    def start(self):
        self._listener.listen(64)
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()
        return self

    def stop_dropping(self):
        with self.lock:
            self.drop_every = 0

    def close(self):
        self._closing = True
        try:
            self._listener.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self._socks)
        for s in socks:
            self._shut(s)

    @staticmethod
    def _shut(sock):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass

    def _accept(self):
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.target is None:
                self._shut(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                self._shut(client)
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.connections += 1
                self._socks.update((client, upstream))
            produce_ids = set()
            threading.Thread(target=self._requests, args=(client, upstream, produce_ids),
                             daemon=True).start()
            threading.Thread(target=self._responses, args=(client, upstream, produce_ids),
                             daemon=True).start()

    def _requests(self, client, upstream, produce_ids):
        try:
            while True:
                frame = _recv_frame(client)
                if frame is None:
                    break
                key, _, correlation = struct.unpack(">hhi", frame[4:12])
                with self.lock:
                    self.requests[key] = self.requests.get(key, 0) + 1
                    if key == PRODUCE:
                        produce_ids.add(correlation)
                upstream.sendall(frame)
        except OSError:
            pass
        self._shut(client)
        self._shut(upstream)

    def _responses(self, client, upstream, produce_ids):
        try:
            while True:
                frame = _recv_frame(upstream)
                if frame is None:
                    break
                correlation = struct.unpack(">i", frame[4:8])[0]
                drop = False
                with self.lock:
                    is_produce = correlation in produce_ids
                    if is_produce:
                        produce_ids.discard(correlation)
                        self.produce_responses += 1
                        if (self.drop_every and self.drops < self.drops_max
                                and self.produce_responses % self.drop_every == 0):
                            self.drops += 1
                            drop = True
                if drop:
                    break
                if is_produce and self.delay_s:
                    time.sleep(self.delay_s)
                client.sendall(frame)
        except OSError:
            pass
        self._shut(client)
        self._shut(upstream)
