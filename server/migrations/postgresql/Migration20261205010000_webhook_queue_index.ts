import { Migration } from '@mikro-orm/migrations';

export class Migration20261205010000_webhook_queue_index extends Migration {

  override name = 'Migration20261205010000_webhook_queue_index';

  override up(): void | Promise<void> {
    // The delivery worker's claim reads due rows by (status, next attempt): without this every poll scanned the table.
    this.addSql(`create index webhook_deliveries_due_index on webhook_deliveries (status, next_attempt_at);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index webhook_deliveries_due_index;`);
  }

}
