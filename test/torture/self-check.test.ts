// The adversary's own instruments can fail: the fingerprint comparison sees one
// digit, one index definition, one sequence position; it forgives column order
// only where told to; the generator's values parse as their types.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareFingerprints, explain, splitDump } from './fingerprint.js';
import { valueFor } from './generate.js';

const DUMP = `--
-- PostgreSQL database dump
--

\\restrict abc123

SET statement_timeout = 0;

--
-- Name: t; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.t (
    id integer,
    x double precision
);

--
-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.t (id, x) FROM stdin;
1\t0.1
2\t0.30000000000000004
\\.

--
-- Name: t_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.t_seq', 42, true);

--
-- Name: t_x; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX t_x ON public.t USING btree (x);

\\unrestrict abc123
`;

const skip = process.env.BACKUP_DRILL_TORTURE ? undefined : 'runs with npm run test:torture';

describe('torture instruments', { skip }, () => {
  test('identical dumps (other \\restrict keys, other row order) compare equal', () => {
    const other = DUMP.replaceAll('abc123', 'zzz999').replace('1\t0.1\n2\t0.30000000000000004', '2\t0.30000000000000004\n1\t0.1');
    assert.deepEqual(compareFingerprints(splitDump(DUMP), splitDump(other)), []);
  });

  for (const [what, from, to, object] of [
    ["one float's last digit", '0.30000000000000004', '0.30000000000000003', 'TABLE DATA public.t'],
    ["one sequence's position", "'public.t_seq', 42, true", "'public.t_seq', 43, true", 'SEQUENCE SET public.t_seq'],
    ['one index definition', 'btree (x)', 'btree (id)', 'INDEX public.t_x'],
  ] as const) {
    test(`${what} is a difference naming the object`, () => {
      const d = compareFingerprints(splitDump(DUMP), splitDump(DUMP.replace(from, to)));
      assert.deepEqual(
        d.map((x) => [x.kind, x.object]),
        [['changed', object]],
      );
      assert.equal(explain(d, [{ object: /^TABLE( DATA)? /, columnOrderOnly: true, reason: 'column order' }]).unexplained.length, 1);
    });
  }

  test('a column order change alone is classified as such, and a value change with it is not', () => {
    const reordered = DUMP.replace(
      'COPY public.t (id, x) FROM stdin;\n1\t0.1\n2\t0.30000000000000004',
      'COPY public.t (x, id) FROM stdin;\n0.1\t1\n0.30000000000000004\t2',
    ).replace('    id integer,\n    x double precision', '    x double precision,\n    id integer');
    const d = compareFingerprints(splitDump(DUMP), splitDump(reordered));
    assert.deepEqual(
      d.map((x) => [x.object, x.columnOrderOnly]),
      [
        ['TABLE public.t', true],
        ['TABLE DATA public.t', true],
      ],
    );
    const changed = compareFingerprints(splitDump(DUMP), splitDump(reordered.replace('0.1\t1', '0.2\t1')));
    assert.equal(changed.find((x) => x.object === 'TABLE DATA public.t')?.columnOrderOnly, false);
  });

  test('generated values respect the type limits the generator reads from the catalog', () => {
    const base = { category: '', typtype: 'b', enumLabels: [] as string[], name: 'col' };
    assert.equal(valueFor({ ...base, base: 'varchar', typmod: 4 + 5 }, 123456)!.length <= 5, true);
    assert.match(valueFor({ ...base, base: 'numeric', typmod: ((5 << 16) | 2) + 4 }, 987654)!, /^\d{1,3}\.\d{2}$/);
    assert.match(valueFor({ ...base, base: 'timestamptz', typmod: -1 }, 99_999_999)!, /^20\d\d-/);
    assert.equal(valueFor({ ...base, base: 'int4', typmod: -1 }, 1), '1');
    assert.equal(valueFor({ ...base, base: 'geometry', typmod: -1 }, 1), undefined);
  });
});
