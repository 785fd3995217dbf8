import { Migration } from '@mikro-orm/migrations';

export class Migration20261125162809_usage_hourly extends Migration {

  override name = 'Migration20261125162809_usage_hourly';

  override up(): void | Promise<void> {
    this.addSql(`create table "usage_hourly" ("project_id" uuid not null, "provider" varchar(255) not null, "model" varchar(255) not null, "hour" bigint not null, "calls" bigint not null default '0', "failed_calls" bigint not null default '0', "input_tokens" bigint not null default '0', "output_tokens" bigint not null default '0', "cost_micros" bigint not null default '0', primary key ("project_id", "provider", "model", "hour"));`);
    this.addSql(`create index "usage_hourly_hour_index" on "usage_hourly" ("hour");`);
    // Kept by a trigger, so every write path (ingest, project deletion, fixtures) keeps the sums exact.
    this.addSql(`create or replace function llm_calls_usage() returns trigger language plpgsql as $$ begin if tg_op in ('UPDATE', 'DELETE') then update usage_hourly set calls = calls - 1, failed_calls = failed_calls - (case when old.status = 'failed' then 1 else 0 end), input_tokens = input_tokens - old.input_tokens, output_tokens = output_tokens - old.output_tokens, cost_micros = cost_micros - old.cost_micros where project_id = old.project_id and provider = old.provider and model = old.model and hour = floor(extract(epoch from old.time) / 3600)::bigint; end if; if tg_op in ('INSERT', 'UPDATE') then insert into usage_hourly as u (project_id, provider, model, hour, calls, failed_calls, input_tokens, output_tokens, cost_micros) values (new.project_id, new.provider, new.model, floor(extract(epoch from new.time) / 3600)::bigint, 1, case when new.status = 'failed' then 1 else 0 end, new.input_tokens, new.output_tokens, new.cost_micros) on conflict (project_id, provider, model, hour) do update set calls = u.calls + excluded.calls, failed_calls = u.failed_calls + excluded.failed_calls, input_tokens = u.input_tokens + excluded.input_tokens, output_tokens = u.output_tokens + excluded.output_tokens, cost_micros = u.cost_micros + excluded.cost_micros; end if; return null; end $$;`);
    this.addSql(`create trigger llm_calls_usage after insert or update or delete on llm_calls for each row execute function llm_calls_usage();`);
    this.addSql(`insert into usage_hourly (project_id, provider, model, hour, calls, failed_calls, input_tokens, output_tokens, cost_micros) select project_id, provider, model, floor(extract(epoch from time) / 3600)::bigint, count(*), sum(case when status = 'failed' then 1 else 0 end), sum(input_tokens), sum(output_tokens), sum(cost_micros) from llm_calls group by 1, 2, 3, 4;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger if exists llm_calls_usage on llm_calls;`);
    this.addSql(`drop function if exists llm_calls_usage();`);
    this.addSql(`drop table if exists "usage_hourly" cascade;`);
  }

}
