import { Migration } from '@mikro-orm/migrations';

export class Migration20261125161947_lean_ingest_indexes extends Migration {

  override name = 'Migration20261125161947_lean_ingest_indexes';

  override up(): void | Promise<void> {
    this.addSql(`drop index \`events_time_index\`;`);
    this.addSql(`drop index \`events_type_index\`;`);
    this.addSql(`drop index \`events_agent_id_index\`;`);
    this.addSql(`drop index \`events_project_id_index\`;`);
    this.addSql(`create index \`events_agent_id_time_index\` on \`events\` (\`agent_id\`, \`time\`);`);

    this.addSql(`drop index \`llm_calls_project_id_index\`;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index \`events_agent_id_time_index\`;`);
    this.addSql(`create index \`events_time_index\` on \`events\` (\`time\`);`);
    this.addSql(`create index \`events_type_index\` on \`events\` (\`type\`);`);
    this.addSql(`create index \`events_agent_id_index\` on \`events\` (\`agent_id\`);`);
    this.addSql(`create index \`events_project_id_index\` on \`events\` (\`project_id\`);`);

    this.addSql(`create index \`llm_calls_project_id_index\` on \`llm_calls\` (\`project_id\`);`);
  }

}
