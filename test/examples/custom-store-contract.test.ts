// Keeps examples/custom-store's contract run in `npm test` (which only looks under test/).
import '../../examples/custom-store/contract.test.js';
