/**
 * Times every operation of a session store: latency and failures go to the route's metrics.
 * A Proxy rather than a wrapper class, so a store keeps its own type, methods beyond the
 * contract and `instanceof`; every method runs with the store itself as `this` (stores keep
 * #private state).
 */
import { performance } from 'node:perf_hooks';
import type { SessionStore } from '../store/store.js';
import { isPromiseLike } from '../util/awaitable.js';
import type { RouteMetrics } from './route-metrics.js';

/** The contract's operations worth timing (not `keys`, an iterator, nor the setup calls). */
const TIMED = new Set<PropertyKey>([
  'create',
  'get',
  'update',
  'adopt',
  'isAlive',
  'touch',
  'delete',
  'push',
  'take',
  'watch',
  'claimReceiver',
  'releaseReceiver',
  'publish',
  'subscribe',
  'count',
]);

type Method = (...args: unknown[]) => unknown;

function timed(target: SessionStore, name: string, method: Method, metrics: RouteMetrics): Method {
  return function timedStoreOperation(...args: unknown[]): unknown {
    metrics.storeStarted();
    const started = performance.now();
    let result: unknown;
    try {
      result = method.apply(target, args);
    } catch (error) {
      metrics.storeDone(name, (performance.now() - started) / 1000, error ?? new Error('store threw undefined'));
      throw error;
    }
    if (!isPromiseLike(result)) {
      metrics.storeDone(name, (performance.now() - started) / 1000);
      return result;
    }
    return result.then(
      (value) => {
        metrics.storeDone(name, (performance.now() - started) / 1000);
        return value;
      },
      (error: unknown) => {
        metrics.storeDone(name, (performance.now() - started) / 1000, error ?? new Error('store rejected with undefined'));
        throw error;
      },
    );
  };
}

/** `store`, with its operations timed into `metrics`. */
export function meteredStore<T extends SessionStore>(store: T, metrics: RouteMetrics): T {
  const methods = new Map<PropertyKey, Method>();
  const target = store;
  // The proxy's own target is an empty object inheriting from the store: `instanceof` still
  // holds, and the store's own properties (even frozen ones) impose no Proxy invariants.
  const shadow = Object.create(store) as T;
  return new Proxy(shadow, {
    get(_shadow, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      let method = methods.get(property);
      if (!method) {
        const original = value as Method;
        method = TIMED.has(property) ? timed(target, String(property), original, metrics) : original.bind(target);
        methods.set(property, method);
      }
      return method;
    },
    set(_shadow, property, value) {
      return Reflect.set(target, property, value, target);
    },
  });
}
