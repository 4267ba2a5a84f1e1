// An exported snapshot held open by one transaction, so pg_dump and the table
// statistics see exactly the same data.
import { connect, type Client } from './connect.js';

export class ExportedSnapshot {
  private constructor(
    private readonly client: Client,
    readonly id: string,
  ) {}

  static async open(url: string | undefined): Promise<ExportedSnapshot> {
    const client = await connect(url, { applicationName: 'backup-drill snapshot' });
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const { rows } = await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
      return new ExportedSnapshot(client, rows[0]!.id);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  /** Opens another connection that sees the same snapshot. */
  async join(url: string | undefined): Promise<Client> {
    const client = await connect(url, { applicationName: 'backup-drill stats' });
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      await client.query(`SET TRANSACTION SNAPSHOT '${this.id.replace(/'/g, "''")}'`);
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  /** The client holding the snapshot; usable for read-only queries in it. */
  get session(): Client {
    return this.client;
  }

  async close(): Promise<void> {
    await this.client.query('COMMIT').catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }
}
