// A small but realistic helpdesk schema and data, used by the demo and the
// tests: users with real password hashes, tickets, attachments, an audit log,
// an enum, a partitioned table, a sequence, a view, bytea and jsonb columns, a
// table in a second schema, a mixed-case quoted table name, and a Prisma-style
// migration ledger.
import type { Client } from './connect.js';

export const SAMPLE_SCHEMA = `
CREATE TYPE ticket_status AS ENUM ('open', 'pending', 'closed');
CREATE SEQUENCE invoice_number_seq START 1000;
CREATE TABLE users (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text NOT NULL,
  role text NOT NULL DEFAULT 'agent',
  password_hash text NOT NULL,
  mfa_secret text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE tickets (
  id bigserial PRIMARY KEY,
  subject text NOT NULL,
  status ticket_status NOT NULL DEFAULT 'open',
  requester_id bigint REFERENCES users(id),
  custom_fields jsonb NOT NULL DEFAULT '{}',
  price numeric(10,2),
  score double precision,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tickets_status_idx ON tickets(status);
CREATE TABLE attachments (
  id bigserial PRIMARY KEY,
  ticket_id bigint NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
  filename text NOT NULL,
  storage_path text NOT NULL,
  thumbnail bytea
);
CREATE TABLE audit_log (
  id bigserial,
  at timestamptz NOT NULL,
  actor text,
  action text NOT NULL,
  details jsonb,
  PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE audit_log_2025 PARTITION OF audit_log FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE audit_log_2026 PARTITION OF audit_log FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE VIEW open_tickets AS SELECT id, subject FROM tickets WHERE status = 'open';
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (
  number integer PRIMARY KEY DEFAULT nextval('invoice_number_seq'),
  ticket_id bigint REFERENCES tickets(id),
  amount numeric(12,2) NOT NULL,
  period interval,
  issued_on date NOT NULL
);
CREATE TABLE "CustomerNotes" ("Id" serial PRIMARY KEY, "NoteText" text, "bd_row_" text);
CREATE TABLE _prisma_migrations (
  id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL, finished_at timestamptz, migration_name varchar(255) NOT NULL,
  logs text, rolled_back_at timestamptz, started_at timestamptz NOT NULL DEFAULT now(), applied_steps_count integer NOT NULL DEFAULT 0
);
`;

export interface SampleUser {
  email: string;
  name: string;
  role: string;
  passwordHash: string;
}

/** Creates the schema and `scale` × a few rows per table. Password hashes are given by the caller. */
export async function seedSample(client: Client, options: { scale?: number; users: SampleUser[] }): Promise<void> {
  const scale = options.scale ?? 50;
  await client.query(SAMPLE_SCHEMA);
  for (const u of options.users) {
    await client.query('INSERT INTO users (email, name, role, password_hash) VALUES ($1, $2, $3, $4)', [u.email, u.name, u.role, u.passwordHash]);
  }
  await client.query(
    `INSERT INTO users (email, name, password_hash, mfa_secret)
     SELECT 'agent' || g || '@example.com', 'Agent ' || g, '$2a$10$' || md5(g::text) || md5(g::text || 'x'), CASE WHEN g % 3 = 0 THEN md5('mfa' || g) END
       FROM generate_series(1, $1) g`,
    [scale],
  );
  await client.query(
    `INSERT INTO tickets (subject, status, requester_id, custom_fields, price, score, created_at)
     SELECT 'Ticket ' || g || ' — ünïcode ✓', (ARRAY['open','pending','closed'])[1 + g % 3]::ticket_status,
            1 + g % $2, jsonb_build_object('priority', g % 5, 'tags', jsonb_build_array('a', 'b' || g)),
            (g * 1.25)::numeric(10,2), g / 7.0, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 hour'
       FROM generate_series(1, $1) g`,
    [scale * 4, scale],
  );
  await client.query(
    `INSERT INTO attachments (ticket_id, filename, storage_path, thumbnail)
     SELECT 1 + g % $2, 'file' || g || '.png', 'tickets/' || (1 + g % $2) || '/file' || g || '.png', decode(md5(g::text), 'hex')
       FROM generate_series(1, $1) g`,
    [scale * 2, scale * 4],
  );
  await client.query(
    `INSERT INTO audit_log (at, actor, action, details)
     SELECT timestamptz '2025-06-01 00:00:00+00' + g * interval '3 hours', 'agent' || (g % 7), 'ticket.update', jsonb_build_object('n', g)
       FROM generate_series(1, $1) g`,
    [scale * 10],
  );
  await client.query(
    `INSERT INTO billing.invoices (ticket_id, amount, period, issued_on)
     SELECT g, g * 10.5, (g || ' days')::interval, date '2026-01-01' + g FROM generate_series(1, $1) g`,
    [scale],
  );
  await client.query(`INSERT INTO "CustomerNotes" ("NoteText", "bd_row_") SELECT 'note ' || g, 'shadow' FROM generate_series(1, $1) g`, [scale]);
  await client.query(
    `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count)
     VALUES ('1', 'c1', '2026-01-01', '20260101000000_init', 1), ('2', 'c2', '2026-03-01', '20260301000000_add_billing', 1)`,
  );
}

/** Users with real password hashes (bcrypt and argon2id), as apps store them. */
export async function sampleUsers(passwords: { canary: string; admin: string }): Promise<SampleUser[]> {
  const { bcrypt, argon2id } = await import('hash-wasm');
  const { randomBytes } = await import('node:crypto');
  const bcryptHash = await bcrypt({ password: passwords.canary, salt: randomBytes(16), costFactor: 6, outputType: 'encoded' });
  const argonHash = await argon2id({
    password: passwords.admin,
    salt: randomBytes(16),
    parallelism: 1,
    iterations: 2,
    memorySize: 4096,
    hashLength: 32,
    outputType: 'encoded',
  });
  return [
    { email: 'canary@example.com', name: 'Canary Account', role: 'agent', passwordHash: bcryptHash },
    { email: 'admin@example.com', name: 'Admin', role: 'admin', passwordHash: argonHash },
  ];
}
