import { Migration } from '@mikro-orm/migrations';

export class Migration20261205210000_webhook_due_by_webhook_index extends Migration {

  override name = 'Migration20261205210000_webhook_due_by_webhook_index';

  override up(): void | Promise<void> {
    // The claim reads each webhook's longest-waiting due deliveries: a range of this index per webhook, where ranking
    // every due row of every project (a window function) held the event loop for tens of ms under a 30,000-row backlog.
    this.addSql(`create index webhook_deliveries_webhook_due_index on webhook_deliveries (webhook_id, status, next_attempt_at);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index webhook_deliveries_webhook_due_index;`);
  }

}
