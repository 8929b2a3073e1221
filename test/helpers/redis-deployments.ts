/**
 * The Redis deployments RedisStore supports, started for real for a test: one redis-server, a
 * three-master Redis Cluster, or a master watched by a Sentinel. Each is described by a
 * {@link RedisTarget} (plain JSON, so child processes get it in an environment variable) from
 * which {@link connectRedis} makes the client an application would pass.
 *
 *   const redis = await startRedis('cluster');   // three masters, all slots, cluster_state:ok
 *   const client = connectRedis(redis.target);   // an ioredis Cluster
 *   ...
 *   client.disconnect(); await redis.stop();     // every redis-server stopped, files removed
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import type { RedisStoreOptions } from '../../src/store/redis/index.js';
import { freePort, startRedisServer, type RedisServer } from './redis-server.js';

export type RedisKind = 'single' | 'cluster' | 'sentinel';

interface Address {
  host: string;
  port: number;
}

/** How to reach a deployment: JSON, for child processes too. */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: Address[] }
  | { kind: 'sentinel'; sentinels: Address[]; name: string };

export interface RedisDeployment {
  readonly kind: RedisKind;
  readonly target: RedisTarget;
  /** The servers: the masters of a cluster; master, replica (if any), Sentinel with Sentinel. */
  readonly servers: readonly RedisServer[];
  /** Stops every server of the deployment and removes its files. */
  stop(): Promise<void>;
}


/**
 * A client for `target`, as an application would make it (the caller closes it). `single`
 * gets a plain client from the URL; the store can also be given the URL itself, see
 * {@link storeOptions}.
 */
export function connectRedis(target: RedisTarget): Redis | Cluster {
  const client =
    target.kind === 'cluster'
      ? new Cluster(target.nodes, { enableAutoPipelining: true })
      : target.kind === 'sentinel'
        ? new Redis({ sentinels: target.sentinels, name: target.name, enableAutoPipelining: true })
        : new Redis(target.url, { enableAutoPipelining: true });
  client.on('error', () => {});
  return client;
}

/**
 * The RedisStore options for `target`: a URL for one Redis (the store owns its client), else a
 * client made with {@link connectRedis}, which `close()` disconnects (after the store closed).
 */
export function storeOptions(target: RedisTarget): { options: Pick<RedisStoreOptions, 'url' | 'client'>; close(): void } {
  if (target.kind === 'single') return { options: { url: target.url }, close: () => {} };
  const client = connectRedis(target);
  return { options: { client }, close: () => client.disconnect() };
}

/**
 * Starts a deployment. `replica`: Sentinel only, a replica of the master that Sentinel knows
 * (`SENTINEL FAILOVER` can promote it).
 */
export async function startRedis(kind: RedisKind, options: { replica?: boolean } = {}): Promise<RedisDeployment> {
  if (kind === 'cluster') return startCluster();
  if (kind === 'sentinel') return startSentinel(options.replica ?? false);
  const server = await startRedisServer();
  return { kind, target: { kind, url: server.url }, servers: [server], stop: () => server.stop() };
}

/** The name Sentinel knows the master by (for `SENTINEL FAILOVER <name>`). */
export const SENTINEL_MASTER_NAME = 'koa-sockjs-test';

/** Answers to `command` on `port`, through a short-lived connection. */
export async function ask(port: number, ...command: [string, ...(string | number)[]]): Promise<unknown> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(...command);
  } finally {
    client.disconnect();
  }
}

/** Polls `check` (each a command round trip) until it holds; fails after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // A check that fails (a connection dropped, say by Sentinel reconfiguring a server) is a no.
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    // Gossip moves in cluster-bus rounds: poll again after a tick of the event loop's timers.
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Three masters, no replicas: each gets a third of the slots (CLUSTER ADDSLOTSRANGE), the
 * first MEETs the others, and the cluster is ready when every node reports cluster_state:ok
 * and knows all three.
 */
async function startCluster(): Promise<RedisDeployment> {
  const dir = mkdtempSync(join(tmpdir(), 'koa-sockjs-cluster-'));
  const servers: RedisServer[] = [];
  const busPorts: number[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      // The cluster bus port defaults to port + 10000, which may be taken: it is chosen too.
      const busPort = await freePort();
      busPorts.push(busPort);
      servers.push(
        await startRedisServer({
          args: ['--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', join(dir, `nodes-${i}.conf`), '--dir', dir, '--cluster-node-timeout', '5000'],
        }),
      );
    }
    const ranges = [
      [0, 5460],
      [5461, 10922],
      [10923, 16383],
    ] as const;
    await Promise.all(servers.map((server, i) => ask(server.port, 'CLUSTER', 'ADDSLOTSRANGE', ranges[i]![0], ranges[i]![1])));
    for (let i = 1; i < servers.length; i++) await ask(servers[0]!.port, 'CLUSTER', 'MEET', '127.0.0.1', servers[i]!.port, busPorts[i]!);
    await until('cluster_state:ok on every node', async () => {
      const infos = await Promise.all(servers.map((server) => ask(server.port, 'CLUSTER', 'INFO') as Promise<string>));
      return infos.every((info) => info.includes('cluster_state:ok') && info.includes('cluster_known_nodes:3') && info.includes('cluster_slots_ok:16384'));
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { kind: 'cluster', target: { kind: 'cluster', nodes: servers.map((server) => ({ host: '127.0.0.1', port: server.port })) }, servers, stop };
}

/** One master (and a replica if asked) and one Sentinel watching it (quorum 1). */
async function startSentinel(replica: boolean): Promise<RedisDeployment> {
  const dir = mkdtempSync(join(tmpdir(), 'koa-sockjs-sentinel-'));
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const master = await startRedisServer();
    servers.push(master);
    if (replica) {
      const copy = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
      servers.push(copy);
      await until('the replica to be in sync', async () => String(await ask(copy.port, 'INFO', 'replication')).includes('master_link_status:up'));
    }
    // Sentinel rewrites its config file, so it gets one of its own.
    const config = join(dir, 'sentinel.conf');
    writeFileSync(config, `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${master.port} 1\nsentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 5000\n`);
    const sentinel = await startRedisServer({ configFile: config, args: ['--sentinel', '--dir', dir] });
    servers.push(sentinel);
    await until('the Sentinel to name the master', async () => {
      const address = (await ask(sentinel.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER_NAME)) as string[] | null;
      return address?.[1] === String(master.port);
    });
    if (replica) {
      // Sentinel learns of replicas from the master's INFO, then connects to each: it promotes
      // only one it is connected to and whose link to the master is up.
      await until('the Sentinel to know the replica as a good one', async () => {
        const replicas = (await ask(sentinel.port, 'SENTINEL', 'REPLICAS', SENTINEL_MASTER_NAME)) as string[][];
        const fields = new Map<string, string>();
        for (let i = 0; i + 1 < (replicas[0]?.length ?? 0); i += 2) fields.set(replicas[0]![i]!, replicas[0]![i + 1]!);
        return fields.get('flags') === 'slave' && fields.get('master-link-status') === 'ok';
      });
    }
    return { kind: 'sentinel', target: { kind: 'sentinel', sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: SENTINEL_MASTER_NAME }, servers, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
