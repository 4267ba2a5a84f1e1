import { keepMemoryFlat } from '../util/memory.js';

keepMemoryFlat();
const { run } = await import('./main.js');

await run();
