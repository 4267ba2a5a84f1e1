// The extensions Debian packages for the server (contrib, and the
// postgresql-<major>-* packages installed by scripts/torture/install-packages.sh):
// one table per extension type, filled with values that exercise its text form.
export interface ExtensionCase {
  extension: string;
  /** Statements run after CREATE EXTENSION: a table named ext_<extension>, with rows. */
  setup: string;
}

const N = 3000;

/** EAN-13 check digit of a 12-digit string, in SQL. */
const EAN_CHECK = `(SELECT (10 - sum(substr(d, k, 1)::int * CASE WHEN k % 2 = 0 THEN 3 ELSE 1 END) % 10) % 10 FROM generate_series(1, 12) k)`;

export const EXTENSION_CASES: ExtensionCase[] = [
  {
    extension: 'postgis',
    setup: `CREATE TABLE ext_postgis (id int PRIMARY KEY, geom geometry(Point, 4326), area geometry(Polygon, 3857), place geography(Point));
      INSERT INTO ext_postgis SELECT i, ST_SetSRID(ST_MakePoint(i / 3.0, i / 7.0), 4326),
        ST_Buffer(ST_SetSRID(ST_MakePoint(i, -i), 3857), 1 + i % 5, 4), ST_MakePoint(i % 180 / 1.7, i % 90 / 3.1)::geography
      FROM generate_series(1, ${N}) i;
      -- A row a user added to an extension configuration table (pg_extension_config_dump).
      INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text)
        VALUES (990001, 'torture', 990001, 'LOCAL_CS["torture"]', '+proj=longlat +datum=WGS84 +no_defs');`,
  },
  {
    extension: 'hstore',
    setup: `CREATE TABLE ext_hstore (id int PRIMARY KEY, h hstore);
      INSERT INTO ext_hstore SELECT i, hstore(ARRAY['k' || i, 'f', 'quote'], ARRAY['v' || i, (i / 3.0)::text, 'a"b''c']) FROM generate_series(1, ${N}) i;`,
  },
  {
    extension: 'ltree',
    setup: `CREATE TABLE ext_ltree (id int PRIMARY KEY, path ltree);
      INSERT INTO ext_ltree SELECT i, ('top.n' || i % 50 || '.leaf' || i)::ltree FROM generate_series(1, ${N}) i;
      CREATE INDEX ON ext_ltree USING gist (path);`,
  },
  {
    extension: 'citext',
    setup: `CREATE TABLE ext_citext (id int PRIMARY KEY, email citext UNIQUE);
      INSERT INTO ext_citext SELECT i, 'User' || i || '@Example.ORG' FROM generate_series(1, ${N}) i;`,
  },
  {
    extension: 'pg_trgm',
    setup: `CREATE TABLE ext_pg_trgm (id int PRIMARY KEY, title text);
      INSERT INTO ext_pg_trgm SELECT i, 'title number ' || i || ' ' || md5(i::text) FROM generate_series(1, ${N}) i;
      CREATE INDEX ON ext_pg_trgm USING gin (title gin_trgm_ops);`,
  },
  {
    extension: 'cube',
    setup: `CREATE TABLE ext_cube (id int PRIMARY KEY, c cube);
      INSERT INTO ext_cube SELECT i, cube(ARRAY[i / 3.0, i / 7.0, i * 1e-17]) FROM generate_series(1, ${N}) i;`,
  },
  {
    extension: 'isn',
    setup: `CREATE TABLE ext_isn (id int PRIMARY KEY, code ean13);
      INSERT INTO ext_isn SELECT i, (d || ${EAN_CHECK})::ean13 FROM (SELECT i, (978000000000 + i)::text AS d FROM generate_series(1, ${N}) i) s;`,
  },
  {
    extension: 'ip4r',
    setup: `CREATE TABLE ext_ip4r (id int PRIMARY KEY, net ip4r, addr ipaddress, r iprange);
      INSERT INTO ext_ip4r SELECT i, ('10.' || i / 256 % 256 || '.' || i % 256 || '.0/24')::ip4r, ('192.168.' || i / 256 % 256 || '.' || i % 256)::ipaddress,
        ('2001:db8::' || to_hex(i) || '-2001:db8::' || to_hex(i + 10))::iprange FROM generate_series(1, ${N}) i;`,
  },
  {
    extension: 'hll',
    setup: `CREATE TABLE ext_hll (id int PRIMARY KEY, visitors hll);
      INSERT INTO ext_hll SELECT g, hll_add_agg(hll_hash_integer(i)) FROM generate_series(1, ${N}) i, LATERAL (SELECT i % 100 AS g) x GROUP BY g;`,
  },
  {
    extension: 'semver',
    setup: `CREATE TABLE ext_semver (id int PRIMARY KEY, v semver);
      INSERT INTO ext_semver SELECT i, (i % 7 || '.' || i || '.' || i % 13 || CASE WHEN i % 5 = 0 THEN '-beta.' || i ELSE '' END)::semver FROM generate_series(1, ${N}) i;`,
  },
  {
    // unit's text form drifts at 17 significant digits (issue 10): the lossy case.
    extension: 'unit',
    setup: `CREATE TABLE ext_unit (id int PRIMARY KEY, length unit, speed unit);
      INSERT INTO ext_unit SELECT i, (i / 3.0)::float8 * 'm'::unit, (i / 7.0)::float8 * 'm/s'::unit FROM generate_series(1, ${N}) i;`,
  },
  {
    extension: 'debversion',
    setup: `CREATE TABLE ext_debversion (id int PRIMARY KEY, v debversion);
      INSERT INTO ext_debversion SELECT i, (i % 3 || ':' || i || '.' || i % 10 || '~rc' || i % 4 || '-' || i % 9 + 1)::debversion FROM generate_series(1, ${N}) i;`,
  },
];
