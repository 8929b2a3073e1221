import { describeStoreContract } from '../../src/store/contract.js';
import { MemoryStore } from '../../src/store/memory.js';

describeStoreContract('MemoryStore', { create: () => new MemoryStore() });
