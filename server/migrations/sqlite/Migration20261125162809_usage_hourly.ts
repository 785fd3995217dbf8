import { Migration } from '@mikro-orm/migrations';

export class Migration20261125162809_usage_hourly extends Migration {

  override name = 'Migration20261125162809_usage_hourly';

  override up(): void | Promise<void> {
    this.addSql(`create table \`usage_hourly\` (\`project_id\` text not null, \`provider\` text not null, \`model\` text not null, \`hour\` bigint not null, \`calls\` bigint not null default '0', \`failed_calls\` bigint not null default '0', \`input_tokens\` bigint not null default '0', \`output_tokens\` bigint not null default '0', \`cost_micros\` bigint not null default '0', primary key (\`project_id\`, \`provider\`, \`model\`, \`hour\`));`);
    this.addSql(`create index \`usage_hourly_hour_index\` on \`usage_hourly\` (\`hour\`);`);
    // Kept by triggers, so every write path (ingest, project deletion, fixtures) keeps the sums exact.
    this.addSql(`create trigger llm_calls_usage_insert after insert on llm_calls begin insert into usage_hourly (project_id, provider, model, hour, calls, failed_calls, input_tokens, output_tokens, cost_micros) values (new.project_id, new.provider, new.model, new.time / 3600000, 1, new.status = 'failed', new.input_tokens, new.output_tokens, new.cost_micros) on conflict (project_id, provider, model, hour) do update set calls = calls + excluded.calls, failed_calls = failed_calls + excluded.failed_calls, input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens, cost_micros = cost_micros + excluded.cost_micros; end;`);
    this.addSql(`create trigger llm_calls_usage_delete after delete on llm_calls begin update usage_hourly set calls = calls - 1, failed_calls = failed_calls - (old.status = 'failed'), input_tokens = input_tokens - old.input_tokens, output_tokens = output_tokens - old.output_tokens, cost_micros = cost_micros - old.cost_micros where project_id = old.project_id and provider = old.provider and model = old.model and hour = old.time / 3600000; end;`);
    this.addSql(`create trigger llm_calls_usage_update after update of project_id, provider, model, time, status, input_tokens, output_tokens, cost_micros on llm_calls begin update usage_hourly set calls = calls - 1, failed_calls = failed_calls - (old.status = 'failed'), input_tokens = input_tokens - old.input_tokens, output_tokens = output_tokens - old.output_tokens, cost_micros = cost_micros - old.cost_micros where project_id = old.project_id and provider = old.provider and model = old.model and hour = old.time / 3600000; insert into usage_hourly (project_id, provider, model, hour, calls, failed_calls, input_tokens, output_tokens, cost_micros) values (new.project_id, new.provider, new.model, new.time / 3600000, 1, new.status = 'failed', new.input_tokens, new.output_tokens, new.cost_micros) on conflict (project_id, provider, model, hour) do update set calls = calls + excluded.calls, failed_calls = failed_calls + excluded.failed_calls, input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens, cost_micros = cost_micros + excluded.cost_micros; end;`);
    this.addSql(`insert into usage_hourly (project_id, provider, model, hour, calls, failed_calls, input_tokens, output_tokens, cost_micros) select project_id, provider, model, time / 3600000, count(*), sum(status = 'failed'), sum(input_tokens), sum(output_tokens), sum(cost_micros) from llm_calls group by 1, 2, 3, 4;`);
  }

  override down(): void | Promise<void> {
    for (const trigger of ['insert', 'delete', 'update']) this.addSql(`drop trigger if exists llm_calls_usage_${trigger};`);
    this.addSql(`drop table if exists \`usage_hourly\`;`);
  }

}
