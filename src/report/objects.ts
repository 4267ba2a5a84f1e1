// What the three renderers share about objects beyond tables' rows (large
// objects, sequences, materialized views, structure, …): labels, icons, order.
import type { ObjectResult, ObjectStatus } from './types.js';

const ORDER: ObjectStatus[] = ['failed', 'not-verifiable', 'not-compared', 'passed'];

export function objectIcon(status: ObjectStatus): string {
  switch (status) {
    case 'passed':
      return '✓';
    case 'failed':
      return '✗';
    case 'not-verifiable':
      return '⚠';
    case 'not-compared':
      return '–';
  }
}

export function objectStatusWord(status: ObjectStatus): string {
  return status.replace('-', ' ');
}

/** "structure: indexes", "materialized view public.mv", "sequences". */
export function objectLabel(o: ObjectResult): string {
  switch (o.kind) {
    case 'structure':
      return `structure: ${o.name}`;
    case 'materialized-view':
      return `materialized view ${o.name}`;
    case 'extension-config':
      return `extension configuration ${o.name}`;
    default:
      return o.name;
  }
}

/** Failed first, then not verifiable, not compared, passed; report order within each. */
export function orderObjects(objects: ObjectResult[]): ObjectResult[] {
  return ORDER.flatMap((s) => objects.filter((o) => o.status === s));
}

/** "12 passed, 1 failed, 2 not verifiable, 3 not compared" (only the non-zero ones but passed). */
export function objectsSummary(objects: ObjectResult[]): string {
  const passed = objects.filter((o) => o.status === 'passed').length;
  const others = ORDER.filter((s) => s !== 'passed')
    .map((s) => [s, objects.filter((o) => o.status === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${objectStatusWord(s)}`);
  return [`${passed} passed`, ...others].join(', ');
}
