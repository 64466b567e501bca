#!/usr/bin/python3
"""Drives kafka-python 2.0.2 through every API it can send, against the capture broker.

    kafka_python_driver.py BOOTSTRAP

Deliberate values (checked by expected.txt): client id golden-kafka-python, topic golden-topic,
group golden-group, created topic golden-created with 3 partitions and retention.ms=3600000.
"""
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.admin.acl_resource import (ACL, ACLFilter, ACLOperation, ACLPermissionType,
                                      ResourcePattern, ResourcePatternFilter, ResourceType,
                                      ACLResourcePatternType)
from kafka.structs import OffsetAndMetadata

BOOT = sys.argv[1]
CID = 'golden-kafka-python'


def step(name, fn):
    try:
        fn()
        print('kafka_python_driver: %s: ok' % name, file=sys.stderr)
    except Exception as e:  # the broker is a recorder: go on
        print('kafka_python_driver: %s: %r' % (name, e), file=sys.stderr)


def produce():
    p = KafkaProducer(bootstrap_servers=BOOT, client_id=CID, acks='all', linger_ms=0)
    p.send('golden-topic', key=b'golden-key', value=b'golden-value',
           headers=[('golden-header', b'h')], partition=0).get(timeout=10)
    p.close()


def consume():
    c = KafkaConsumer(bootstrap_servers=BOOT, client_id=CID, group_id='golden-group',
                      auto_offset_reset='earliest', enable_auto_commit=False,
                      heartbeat_interval_ms=100, session_timeout_ms=6000,
                      consumer_timeout_ms=3000)
    c.subscribe(['golden-topic'])
    for m in c:
        c.commit({TopicPartition(m.topic, m.partition): OffsetAndMetadata(m.offset + 1, 'golden-meta')})
        break
    time.sleep(0.5)
    c.poll(timeout_ms=300)
    c.committed(TopicPartition('golden-topic', 0))
    c.end_offsets([TopicPartition('golden-topic', 0)])
    c.offsets_for_times({TopicPartition('golden-topic', 0): 1600000000000})
    c.close()


def admin():
    a = KafkaAdminClient(bootstrap_servers=BOOT, client_id=CID)
    step('create_topics', lambda: a.create_topics(
        [NewTopic('golden-created', 3, 1, topic_configs={'retention.ms': '3600000'})]))
    step('create_partitions', lambda: a.create_partitions({'golden-created': NewPartitions(5)}))
    step('describe_configs', lambda: a.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, 'golden-topic', configs={'cleanup.policy': None})]))
    step('alter_configs', lambda: a.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, 'golden-topic', configs={'cleanup.policy': 'compact'})]))
    acl = ACL('User:golden', '*', ACLOperation.READ, ACLPermissionType.ALLOW,
              ResourcePattern(ResourceType.TOPIC, 'golden-topic'))
    step('create_acls', lambda: a.create_acls([acl]))
    flt = ACLFilter('User:golden', None, ACLOperation.ANY, ACLPermissionType.ANY,
                    ResourcePatternFilter(ResourceType.TOPIC, 'golden-topic', ACLResourcePatternType.LITERAL))
    step('describe_acls', lambda: a.describe_acls(flt))
    step('delete_acls', lambda: a.delete_acls([flt]))
    step('list_consumer_groups', lambda: a.list_consumer_groups())
    step('describe_consumer_groups', lambda: a.describe_consumer_groups(['golden-group']))
    step('list_consumer_group_offsets', lambda: a.list_consumer_group_offsets('golden-group'))
    step('delete_consumer_groups', lambda: a.delete_consumer_groups(['golden-group']))
    step('delete_topics', lambda: a.delete_topics(['golden-created']))
    a.close()


step('produce', produce)
step('consume', consume)
step('admin', admin)
