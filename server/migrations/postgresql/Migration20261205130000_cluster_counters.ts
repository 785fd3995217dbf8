import { Migration } from '@mikro-orm/migrations';

export class Migration20261205130000_cluster_counters extends Migration {

  override name = 'Migration20261205130000_cluster_counters';

  override up(): void | Promise<void> {
    // Counters every server instance shares: fixed-window rate limits and failed-login streaks (times in epoch ms).
    this.addSql(`create table "rate_limit_hits" ("key" varchar(512) not null, "count" integer not null, "reset_at" bigint not null, primary key ("key"));`);
    this.addSql(`create table "login_streaks" ("key" varchar(512) not null, "failures" integer not null, "blocked_until" bigint not null, "last_failure" bigint not null, primary key ("key"));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table "login_streaks";`);
    this.addSql(`drop table "rate_limit_hits";`);
  }

}
