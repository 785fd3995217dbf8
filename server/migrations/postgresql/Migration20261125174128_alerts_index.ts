import { Migration } from '@mikro-orm/migrations';

export class Migration20261125174128_alerts_index extends Migration {

  override name = 'Migration20261125174128_alerts_index';

  override up(): void | Promise<void> {
    // Partial: only alert rows are indexed, so ingest of ordinary events pays nothing for /api/alerts.
    this.addSql(`create index events_alerts_time_index on events (time) where type in ('PiiAlert', 'BudgetWarning', 'BudgetExceeded', 'CircuitOpened');`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index events_alerts_time_index;`);
  }

}
