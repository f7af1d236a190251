/**
 * The admin operations of the Kafka backend: topic per broker, consumer-group positions and deletion.
 * Thin wrappers around kafkajs's Admin with the waits Kafka needs (a deleted topic lingers briefly; a group
 * whose last member just left may still report members for a moment).
 */
import type { Admin, PartitionMetadata } from 'kafkajs';

const RETRY_MS = 100;
const TOPIC_DELETE_WAIT_MS = 10_000;
const GROUP_DELETE_ATTEMPTS = 30;

/** Creates the topic if missing, with replication clamped to the cluster size; resolves once it has leaders. */
export async function ensureTopic(admin: Admin, topic: string, cfg: { partitions: number; replicationFactor: number }): Promise<void> {
  if (await topicExists(admin, topic)) return;
  const cluster = await admin.describeCluster();
  const replicationFactor = Math.max(1, Math.min(cfg.replicationFactor, cluster.brokers.length));
  const numPartitions = Math.max(1, Math.floor(cfg.partitions));
  const deadline = Date.now() + TOPIC_DELETE_WAIT_MS;
  for (;;) {
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions, replicationFactor }] });
      return;
    } catch (err) {
      // A topic of the same name still being deleted: wait for the deletion to finish, then create. Or the topic was
      // created but its metadata has not reached the broker kafkajs asked while waiting for leaders (a loaded
      // single-node cluster answers UNKNOWN_TOPIC_OR_PARTITION for a moment): ask again until it has them.
      const creating = isErrorType(err, 'UNKNOWN_TOPIC_OR_PARTITION');
      if ((!creating && !isErrorType(err, 'TOPIC_ALREADY_EXISTS')) || Date.now() > deadline) throw err;
      if (!creating && (await topicExists(admin, topic))) return;
      await delay(RETRY_MS);
    }
  }
}

/** The topic's partitions (id and leader), or undefined when the topic does not exist. */
export async function topicPartitions(admin: Admin, topic: string): Promise<PartitionMetadata[] | undefined> {
  if (!(await topicExists(admin, topic))) return undefined;
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics.find((t) => t.name === topic)?.partitions;
}

export async function topicExists(admin: Admin, topic: string): Promise<boolean> {
  const topics = await admin.listTopics();
  return topics.includes(topic);
}

/** Deletes the topic (if present) and waits until the cluster no longer lists it. */
export async function deleteTopic(admin: Admin, topic: string): Promise<void> {
  if (!(await topicExists(admin, topic))) return;
  try {
    await admin.deleteTopics({ topics: [topic] });
  } catch (err) {
    if (!isErrorType(err, 'UNKNOWN_TOPIC_OR_PARTITION')) throw err;
  }
  const deadline = Date.now() + TOPIC_DELETE_WAIT_MS;
  while ((await topicExists(admin, topic)) && Date.now() < deadline) await delay(RETRY_MS);
}

/**
 * Where a trigger's consumer group starts. A group with committed offsets on the topic resumes from them
 * (undefined). A new group starts at the topic's end offsets read now (Knative: a new trigger starts at the
 * latest offset); the subscription seeks there and commits them once it joined, before `subscribe` resolves,
 * so no event published after the subscribe call is skipped. (kafkajs's `admin.setOffsets` would do the
 * commit without a member, but it joins the group with a throw-away consumer and takes ~5 s.)
 */
export function newGroupStartOffsets(admin: Admin, groupId: string, topic: string): Promise<Array<{ partition: number; offset: string }> | undefined> {
  return retrying(async () => {
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const parts = committed.find((t) => t.topic === topic)?.partitions ?? [];
    if (parts.some((p) => Number(p.offset) >= 0)) return undefined;
    const ends = await admin.fetchTopicOffsets(topic);
    return ends.map((p) => ({ partition: p.partition, offset: p.high }));
  });
}

/** Deletes a consumer group; a missing group is fine, a group whose member is still leaving is retried. */
export async function deleteGroup(admin: Admin, groupId: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.deleteGroups([groupId]);
      return;
    } catch (err) {
      if (groupErrorIs(err, 'GROUP_ID_NOT_FOUND')) return;
      const again = groupErrorIs(err, 'NON_EMPTY_GROUP') || isRetriableKafkaError(err) || groupErrorIs(err, 'NOT_COORDINATOR');
      if (!again || attempt >= GROUP_DELETE_ATTEMPTS) throw err;
      await delay(RETRY_MS);
    }
  }
}

/**
 * kafkajs's admin does not retry group-coordinator errors itself (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS
 * while `__consumer_offsets` settles on a fresh cluster): retry retriable errors for a few seconds.
 */
async function retrying<T>(op: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!isRetriableKafkaError(err) || attempt >= GROUP_DELETE_ATTEMPTS) throw err;
      await delay(Math.min(RETRY_MS * attempt, 1_000));
    }
  }
}

function isRetriableKafkaError(err: unknown): boolean {
  return err instanceof Error && err.name.startsWith('KafkaJS') && (err as { retriable?: unknown }).retriable === true;
}

function isErrorType(err: unknown, type: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if ((err as { type?: unknown }).type === type) return true;
  const nested = (err as { errors?: unknown }).errors ?? (err as { topics?: unknown }).topics;
  if (Array.isArray(nested)) return nested.some((e) => isErrorType(e, type) || isErrorType((e as { error?: unknown })?.error, type));
  const cause = (err as { cause?: unknown }).cause ?? (err as { originalError?: unknown }).originalError;
  return cause !== undefined && cause !== err && isErrorType(cause, type);
}

/** kafkajs's deleteGroups rejects with KafkaJSDeleteGroupsError whose `groups[].error` carry the cause. */
function groupErrorIs(err: unknown, type: string): boolean {
  if (isErrorType(err, type)) return true;
  const groups = (err as { groups?: unknown })?.groups;
  return Array.isArray(groups) && groups.some((g) => isErrorType((g as { error?: unknown })?.error, type));
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
