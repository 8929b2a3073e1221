// Runs the SessionStore contract suite, the one the built-in stores pass, on this example's two
// stores: MapStore (written from scratch, see docs/stores.md) and CountingStore (a wrapper).
// Do the same for a store of your own:
//
//   node --import tsx --test examples/custom-store/contract.test.ts
import { MemoryStore } from 'koa-sockjs';
import { describeStoreContract } from 'koa-sockjs/store-contract';
import { CountingStore } from './counting-store.js';
import { MapStore } from './map-store.js';

describeStoreContract('MapStore', { create: () => new MapStore() });

describeStoreContract('CountingStore over MemoryStore', {
  create: () => new CountingStore(new MemoryStore()),
});
