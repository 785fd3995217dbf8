import { Migration } from '@mikro-orm/migrations';

export class Migration20261125164321_leases extends Migration {

  override name = 'Migration20261125164321_leases';

  override up(): void | Promise<void> {
    this.addSql(`create table \`leases\` (\`id\` text not null primary key, \`limit_id\` text not null, \`project_id\` text not null, \`holder\` text not null, \`granted_micros\` bigint not null default '0', \`used_micros\` bigint not null default '0', \`status\` text check (\`status\` in ('active', 'returned', 'expired')) not null, \`expires_at\` datetime not null, \`created_at\` datetime not null);`);
    this.addSql(`create index \`leases_limit_id_index\` on \`leases\` (\`limit_id\`);`);

  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists \`leases\`;`);

  }

}
