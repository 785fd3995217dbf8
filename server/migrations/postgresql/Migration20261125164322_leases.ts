import { Migration } from '@mikro-orm/migrations';

export class Migration20261125164322_leases extends Migration {

  override name = 'Migration20261125164322_leases';

  override up(): void | Promise<void> {
    this.addSql(`create table "leases" ("id" uuid not null, "limit_id" uuid not null, "project_id" uuid not null, "holder" varchar(255) not null, "granted_micros" bigint not null default '0', "used_micros" bigint not null default '0', "status" text not null, "expires_at" timestamptz not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "leases_limit_id_index" on "leases" ("limit_id");`);

    this.addSql(`alter table "leases" add constraint "leases_status_check" check ("status" in ('active', 'returned', 'expired'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "leases" cascade;`);

  }

}
