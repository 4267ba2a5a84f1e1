import { keepMemoryFlat } from '../util/memory.js';

keepMemoryFlat({ streams: true }); // every mode streams a dump
const { run } = await import('./main.js');

await run();
