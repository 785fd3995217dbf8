import { Migration } from '@mikro-orm/migrations';

export class Migration20261205050000_agents_status_index extends Migration {

  override name = 'Migration20261205050000_agents_status_index';

  override up(): void | Promise<void> {
    // The lost-agent sweep reads running agents by their last sign of life every few seconds.
    this.addSql(`create index agents_status_last_event_index on agents (status, last_event_at);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index agents_status_last_event_index;`);
  }

}
