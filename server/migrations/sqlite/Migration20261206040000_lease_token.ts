import { Migration } from '@mikro-orm/migrations';

export class Migration20261206040000_lease_token extends Migration {

  override name = 'Migration20261206040000_lease_token';

  override up(): void | Promise<void> {
    // The API token that took a lease: another token of the project may no longer renew or return it.
    this.addSql(`alter table "leases" add column "token_id" text null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "leases" drop column "token_id";`);
  }

}
