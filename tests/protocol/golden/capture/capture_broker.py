#!/usr/bin/env python3
"""A recording "capture broker": answers Kafka clients well enough for them to send every request
they can, at the newest versions they support, and records each request frame.

    capture_broker.py --specs DIR --schemas DIR --out DIR [--port N] [--port-file FILE]

It advertises, in ApiVersions, every API of Quire's schema files (protocol/schema) at their
version ranges (so clients pick their newest version), and answers with Kafka's own JSON message
specifications (--specs, e.g. ../shared/kafka-4.3-protocol/messages) through kafkaspec.py, which
is independent of Quire's generator. It plays one broker (node 1) that leads every partition and
coordinates every group and transaction; topics exist on request (one partition each, or N for a
name ending in -pN); produced batches are kept in memory and fetched back.

Each request is written to OUT/<ApiName>-v<version>.bin: the frame without its 4-byte length
prefix. When a client sends the same API and version again, the larger frame is kept (the
richest), and frames of equal size keep the first. A log of every request goes to stderr.
"""
import argparse
import hashlib
import os
import re
import socket
import socketserver
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kafkaspec import Specs, DecodeError, vin  # noqa: E402

NODE_ID = 1
CLUSTER_ID = 'golden-cluster-0000000'


def schema_ranges(directory):
    """{key: (name, min, max)} from the `api` lines of Quire's schema files."""
    out = {}
    for fn in sorted(os.listdir(directory)):
        if not fn.endswith('.schema'):
            continue
        with open(os.path.join(directory, fn)) as f:
            for line in f:
                m = re.match(r'api (\w+) key=(\d+) versions=(\d+)(?:-(\d+))?.*?( unstable-latest)?$',
                             line.rstrip())
                if m:
                    lo = int(m.group(3))
                    hi = int(m.group(4) or lo)
                    if m.group(5):
                        hi -= 1
                    out[int(m.group(2))] = (m.group(1), lo, hi)
    return out


def topic_id(name):
    return hashlib.md5(name.encode()).digest()


class State:
    def __init__(self, args):
        self.specs = Specs(args.specs)
        self.ranges = schema_ranges(args.schemas)
        self.out = args.out
        self.port = None
        self.lock = threading.Lock()
        self.logs = {}     # (topic, partition) -> list of batch bytes
        self.ids = {}      # topic id -> name
        self.committed = {}

    def record(self, api, version, frame):
        path = os.path.join(self.out, '%s-v%d.bin' % (api, version))
        with self.lock:
            try:
                old = os.path.getsize(path)
            except OSError:
                old = -1
            if len(frame) > old:
                with open(path, 'wb') as f:
                    f.write(frame)

    def name_of(self, name, tid):
        if name:
            self.ids[topic_id(name)] = name
            return name
        return self.ids.get(tid, 'golden-unknown')

    def partitions(self, name):
        m = re.search(r'-p(\d+)$', name or '')
        return int(m.group(1)) if m else 1


class Handler(socketserver.BaseRequestHandler):
    def recv_exact(self, n):
        buf = b''
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def handle(self):
        st = self.server.state
        while True:
            head = self.recv_exact(4)
            if head is None:
                return
            frame = self.recv_exact(struct.unpack('>i', head)[0])
            if frame is None:
                return
            key, version, corr = struct.unpack('>hhi', frame[:8])
            api = st.specs.api_name(key) or 'Api%d' % key
            st.record(api, version, frame)
            try:
                req_msg = st.specs.msgs[api + 'Request']
                flex = vin(req_msg.flexible, version)
                hdr, used = st.specs.decode('RequestHeader', 2 if flex else 1, frame)
                body, n = st.specs.decode(api + 'Request', version, frame[used:])
                extra = len(frame) - used - n
                sys.stderr.write('capture: %s v%d client=%r%s\n' % (
                    api, version, hdr.get('client_id'),
                    ' (%d bytes left over!)' % extra if extra else ''))
            except (KeyError, DecodeError) as e:
                sys.stderr.write('capture: %s v%d: cannot decode: %s\n' % (api, version, e))
                if key != 18:
                    return
                body, flex = {}, False
            if key == 18:  # ApiVersions: always response header v0
                lo, hi = st.ranges[18][1], st.ranges[18][2]
                v = version if version <= hi else 0
                resp = self.api_versions(version > hi)
                data = st.specs.encode('ApiVersionsResponse', v, resp)
                self.send(corr, data, flexible_header=False)
                continue
            fn = getattr(self, 'h_' + api, None)
            resp = fn(body, version) if fn else {}
            if resp is None:
                return  # close the connection
            resp_flex = vin(st.specs.msgs[api + 'Response'].flexible, version)
            if key == 0 and body.get('acks') == 0:
                continue
            data = st.specs.encode(api + 'Response', version, resp)
            self.send(corr, data, flexible_header=resp_flex)

    def send(self, corr, data, flexible_header):
        head = struct.pack('>i', corr) + (b'\x00' if flexible_header else b'')
        self.request.sendall(struct.pack('>i', len(head) + len(data)) + head + data)

    # ---- answers ----

    def api_versions(self, unsupported):
        st = self.server.state
        keys = [{'api_key': k, 'min_version': 0 if k == 0 else lo, 'max_version': hi}
                for k, (_, lo, hi) in sorted(st.ranges.items())]
        return {'error_code': 35 if unsupported else 0, 'api_keys': keys,
                'throttle_time_ms': 0}

    def broker(self):
        return {'node_id': NODE_ID, 'host': '127.0.0.1', 'port': self.server.state.port,
                'rack': None}

    def h_Metadata(self, b, v):
        st = self.server.state
        topics = b.get('topics')
        names = ['golden-topic'] if topics is None else [
            st.name_of(t.get('name'), t.get('topic_id')) for t in topics]
        out = []
        for n in names:
            parts = [{'error_code': 0, 'partition_index': p, 'leader_id': NODE_ID, 'leader_epoch': 0,
                      'replica_nodes': [NODE_ID], 'isr_nodes': [NODE_ID], 'offline_replicas': []}
                     for p in range(st.partitions(n))]
            out.append({'error_code': 0, 'name': n, 'topic_id': topic_id(n), 'is_internal': False,
                        'partitions': parts, 'topic_authorized_operations': -2147483648})
        return {'brokers': [self.broker()], 'cluster_id': CLUSTER_ID, 'controller_id': NODE_ID,
                'topics': out}

    def h_DescribeTopicPartitions(self, b, v):
        st = self.server.state
        out = []
        for t in b.get('topics') or []:
            n = t['name']
            parts = [{'partition_index': p, 'leader_id': NODE_ID, 'leader_epoch': 0,
                      'replica_nodes': [NODE_ID], 'isr_nodes': [NODE_ID]}
                     for p in range(st.partitions(n))]
            out.append({'name': n, 'topic_id': topic_id(n), 'partitions': parts})
        return {'topics': out}

    def h_DescribeCluster(self, b, v):
        return {'cluster_id': CLUSTER_ID, 'controller_id': NODE_ID,
                'brokers': [{'broker_id': NODE_ID, 'host': '127.0.0.1',
                             'port': self.server.state.port}]}

    def h_FindCoordinator(self, b, v):
        bk = self.broker()
        keys = b.get('coordinator_keys') or [b.get('key', '')]
        return dict(bk, error_code=0, error_message=None,
                    coordinators=[dict(bk, key=k, error_code=0) for k in keys])

    def h_InitProducerId(self, b, v):
        return {'producer_id': 4242, 'producer_epoch': 0}

    def h_Produce(self, b, v):
        st = self.server.state
        out = []
        for t in b.get('topic_data', []):
            name = st.name_of(t.get('name'), t.get('topic_id'))
            pr = []
            for p in t['partition_data']:
                base = self.append(name, p['index'], p['records'] or b'')
                pr.append({'index': p['index'], 'error_code': 0, 'base_offset': base,
                           'log_append_time_ms': -1, 'log_start_offset': 0})
            out.append({'name': t.get('name'), 'topic_id': t.get('topic_id'),
                        'partition_responses': pr})
        return {'responses': out}

    def append(self, name, partition, records):
        st = self.server.state
        with st.lock:
            log = st.logs.setdefault((name, partition), [])
            base = sum(n for _, n in log)
            pos, first = 0, base
            while pos + 61 <= len(records):
                length = struct.unpack('>i', records[pos + 8:pos + 12])[0]
                batch = bytearray(records[pos:pos + 12 + length])
                count = struct.unpack('>i', batch[23:27])[0] + 1
                batch[0:8] = struct.pack('>q', base)
                log.append((bytes(batch), count))
                base += count
                pos += 12 + length
            return first

    def h_Fetch(self, b, v):
        st = self.server.state
        out = []
        got = False
        for t in b.get('topics', []):
            name = st.name_of(t.get('topic'), t.get('topic_id'))
            parts = []
            for p in t['partitions']:
                with st.lock:
                    log = st.logs.get((name, p['partition']), [])
                    end = sum(n for _, n in log)
                    data, off = b'', 0
                    for batch, n in log:
                        if off + n > p['fetch_offset']:
                            data += batch
                        off += n
                got = got or bool(data)
                parts.append({'partition_index': p['partition'], 'error_code': 0,
                              'high_watermark': end, 'last_stable_offset': end,
                              'log_start_offset': 0, 'preferred_read_replica': -1,
                              'aborted_transactions': None if v >= 4 else [], 'records': data})
            out.append({'topic': t.get('topic'), 'topic_id': t.get('topic_id'), 'partitions': parts})
        if not got:
            time.sleep(min(b.get('max_wait_ms', 0), 300) / 1000)
        return {'error_code': 0, 'session_id': 0, 'responses': out}

    def h_ListOffsets(self, b, v):
        st = self.server.state
        out = []
        for t in b.get('topics', []):
            parts = []
            for p in t['partitions']:
                with st.lock:
                    end = sum(n for _, n in st.logs.get((t['name'], p['partition_index']), []))
                off = 0 if p.get('timestamp') == -2 else end
                parts.append({'partition_index': p['partition_index'], 'error_code': 0,
                              'old_style_offsets': [off], 'timestamp': -1, 'offset': off,
                              'leader_epoch': 0})
            out.append({'name': t['name'], 'partitions': parts})
        return {'topics': out}

    def h_OffsetForLeaderEpoch(self, b, v):
        out = [{'topic': t['topic'], 'partitions': [
            {'partition': p['partition'], 'error_code': 0, 'leader_epoch': 0, 'end_offset': 0}
            for p in t['partitions']]} for t in b.get('topics', [])]
        return {'topics': out}

    def h_JoinGroup(self, b, v):
        member = b.get('member_id') or 'golden-member-1'
        protos = b.get('protocols') or [{'name': 'range', 'metadata': b''}]
        return {'error_code': 0, 'generation_id': 1, 'protocol_type': b.get('protocol_type'),
                'protocol_name': protos[0]['name'], 'leader': member, 'member_id': member,
                'skip_assignment': False,
                'members': [{'member_id': member, 'group_instance_id': b.get('group_instance_id'),
                             'metadata': protos[0]['metadata']}]}

    def h_SyncGroup(self, b, v):
        mine = [a['assignment'] for a in b.get('assignments', []) if a['member_id'] == b['member_id']]
        return {'error_code': 0, 'protocol_type': b.get('protocol_type'),
                'protocol_name': b.get('protocol_name'), 'assignment': mine[0] if mine else b''}

    def h_Heartbeat(self, b, v):
        return {'error_code': 0}

    def h_LeaveGroup(self, b, v):
        return {'error_code': 0, 'members': [dict(m, error_code=0) for m in b.get('members') or []]}

    def h_OffsetCommit(self, b, v):
        return {'topics': [{'name': t.get('name'), 'topic_id': t.get('topic_id'), 'partitions': [
            {'partition_index': p['partition_index'], 'error_code': 0} for p in t['partitions']]}
            for t in b.get('topics', [])]}

    h_TxnOffsetCommit = h_OffsetCommit

    def fetched_topics(self, topics):
        return [{'name': t.get('name'), 'topic_id': t.get('topic_id'), 'partitions': [
            {'partition_index': p, 'committed_offset': -1, 'committed_leader_epoch': -1,
             'metadata': '', 'error_code': 0} for p in t.get('partition_indexes') or []]}
            for t in topics or []]

    def h_OffsetFetch(self, b, v):
        return {'error_code': 0, 'topics': self.fetched_topics(b.get('topics')),
                'groups': [{'group_id': g['group_id'], 'error_code': 0,
                            'topics': self.fetched_topics(g.get('topics'))}
                           for g in b.get('groups') or []]}

    def h_AddPartitionsToTxn(self, b, v):
        def topics(ts):
            return [{'name': t['name'], 'results_by_partition': [
                {'partition_index': p, 'partition_error_code': 0} for p in t['partitions']]}
                for t in ts or []]
        return {'results_by_topic_v3_and_below': topics(b.get('v3_and_below_topics')),
                'results_by_transaction': [
                    {'transactional_id': t['transactional_id'], 'topic_results': topics(t['topics'])}
                    for t in b.get('transactions') or []]}

    def h_AddOffsetsToTxn(self, b, v):
        return {'error_code': 0}

    def h_EndTxn(self, b, v):
        return {'error_code': 0, 'producer_id': b.get('producer_id', -1),
                'producer_epoch': b.get('producer_epoch', -1)}

    def h_CreateTopics(self, b, v):
        return {'topics': [{'name': t['name'], 'topic_id': topic_id(t['name']), 'error_code': 0,
                            'error_message': None, 'num_partitions': max(t['num_partitions'], 1),
                            'replication_factor': 1, 'configs': []} for t in b['topics']]}

    def h_DeleteTopics(self, b, v):
        names = b.get('topic_names') or [t.get('name') for t in b.get('topics') or []]
        return {'responses': [{'name': n, 'error_code': 0} for n in names]}

    def h_CreatePartitions(self, b, v):
        return {'results': [{'name': t['name'], 'error_code': 0, 'error_message': None}
                            for t in b['topics']]}

    def h_DeleteRecords(self, b, v):
        return {'topics': [{'name': t['name'], 'partitions': [
            {'partition_index': p['partition_index'], 'low_watermark': p['offset'], 'error_code': 0}
            for p in t['partitions']]} for t in b['topics']]}

    def h_DescribeConfigs(self, b, v):
        out = []
        for r in b['resources']:
            keys = r.get('configuration_keys') or ['cleanup.policy']
            out.append({'error_code': 0, 'error_message': None, 'resource_type': r['resource_type'],
                        'resource_name': r['resource_name'], 'configs': [
                            {'name': k, 'value': 'delete', 'read_only': False, 'config_source': 5,
                             'is_sensitive': False, 'synonyms': [], 'config_type': 2,
                             'documentation': None} for k in keys]})
        return {'results': out}

    def h_AlterConfigs(self, b, v):
        return {'responses': [{'error_code': 0, 'error_message': None,
                               'resource_type': r['resource_type'],
                               'resource_name': r['resource_name']} for r in b['resources']]}

    h_IncrementalAlterConfigs = h_AlterConfigs

    def h_CreateAcls(self, b, v):
        return {'results': [{'error_code': 0, 'error_message': None} for _ in b['creations']]}

    def h_DescribeAcls(self, b, v):
        return {'error_code': 0, 'error_message': None, 'resources': []}

    def h_DeleteAcls(self, b, v):
        return {'filter_results': [{'error_code': 0, 'error_message': None, 'matching_acls': []}
                                   for _ in b['filters']]}

    def h_ListGroups(self, b, v):
        return {'error_code': 0, 'groups': [{'group_id': 'golden-group', 'protocol_type': 'consumer',
                                             'group_state': 'Empty', 'group_type': 'classic'}]}

    def h_DescribeGroups(self, b, v):
        return {'groups': [{'error_code': 0, 'error_message': None, 'group_id': g,
                            'group_state': 'Empty', 'protocol_type': 'consumer',
                            'protocol_data': '', 'members': [],
                            'authorized_operations': -2147483648} for g in b['groups']]}

    def h_DeleteGroups(self, b, v):
        return {'results': [{'group_id': g, 'error_code': 0} for g in b['groups_names']]}

    def h_OffsetDelete(self, b, v):
        return {'error_code': 0, 'topics': [{'name': t['name'], 'partitions': [
            {'partition_index': p['partition_index'], 'error_code': 0} for p in t['partitions']]}
            for t in b['topics']]}

    def h_SaslHandshake(self, b, v):
        return {'error_code': 0, 'mechanisms': ['PLAIN']}

    def h_SaslAuthenticate(self, b, v):
        return {'error_code': 0, 'error_message': None, 'auth_bytes': b'',
                'session_lifetime_ms': 0}


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--specs', required=True)
    ap.add_argument('--schemas', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--port-file')
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    state = State(args)
    srv = Server(('127.0.0.1', args.port), Handler)
    srv.state = state
    state.port = srv.server_address[1]
    if args.port_file:
        with open(args.port_file + '.tmp', 'w') as f:
            f.write('%d\n' % state.port)
        os.replace(args.port_file + '.tmp', args.port_file)
    sys.stderr.write('capture broker on 127.0.0.1:%d, recording into %s\n' % (state.port, args.out))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    socket.setdefaulttimeout(None)
    main()
