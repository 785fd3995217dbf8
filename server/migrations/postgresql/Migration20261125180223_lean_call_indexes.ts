import { Migration } from '@mikro-orm/migrations';

export class Migration20261125180223_lean_call_indexes extends Migration {

  override name = 'Migration20261125180223_lean_call_indexes';

  override up(): void | Promise<void> {
    this.addSql(`drop index "llm_calls_model_index";`);
    this.addSql(`drop index "llm_calls_provider_index";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`create index "llm_calls_model_index" on "llm_calls" ("model");`);
    this.addSql(`create index "llm_calls_provider_index" on "llm_calls" ("provider");`);
  }

}
