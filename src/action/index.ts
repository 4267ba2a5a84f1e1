import { keepMemoryFlat, restartWithSmallYoungGeneration } from '../util/memory.js';

restartWithSmallYoungGeneration(); // every mode streams a dump
keepMemoryFlat();
const { run } = await import('./main.js');

await run();
