import { Migration } from '@mikro-orm/migrations';

export class Migration20261125160647_initial extends Migration {

  override name = 'Migration20261125160647_initial';

  override up(): void | Promise<void> {
    this.addSql(`create table \`agents\` (\`id\` text not null primary key, \`project_id\` text not null, \`name\` text not null, \`kind\` text not null, \`status\` text not null, \`started_at\` datetime not null, \`stopped_at\` datetime null, \`last_event_at\` datetime not null, \`calls\` integer not null default 0, \`failed_calls\` integer not null default 0, \`input_tokens\` bigint not null default '0', \`output_tokens\` bigint not null default '0', \`cost_micros\` bigint not null default '0', \`pii_detections\` integer not null default 0);`);
    this.addSql(`create index \`agents_project_id_index\` on \`agents\` (\`project_id\`);`);

    this.addSql(`create table \`api_tokens\` (\`id\` text not null primary key, \`name\` text not null, \`project_id\` text not null, \`token_hash\` text not null, \`prefix\` text not null, \`created_by\` text null, \`expires_at\` datetime null, \`revoked_at\` datetime null, \`last_used_at\` datetime null, \`created_at\` datetime not null);`);
    this.addSql(`create index \`api_tokens_project_id_index\` on \`api_tokens\` (\`project_id\`);`);
    this.addSql(`create unique index \`api_tokens_token_hash_unique\` on \`api_tokens\` (\`token_hash\`);`);

    this.addSql(`create table \`events\` (\`id\` text not null primary key, \`project_id\` text not null, \`agent_id\` text null, \`type\` text not null, \`time\` datetime not null, \`payload\` json not null);`);
    this.addSql(`create index \`events_project_id_index\` on \`events\` (\`project_id\`);`);
    this.addSql(`create index \`events_agent_id_index\` on \`events\` (\`agent_id\`);`);
    this.addSql(`create index \`events_type_index\` on \`events\` (\`type\`);`);
    this.addSql(`create index \`events_time_index\` on \`events\` (\`time\`);`);

    this.addSql(`create table \`limits\` (\`id\` text not null primary key, \`project_id\` text not null, \`scope\` text check (\`scope\` in ('project', 'agent', 'provider', 'model')) not null, \`target\` text not null default '', \`kind\` text check (\`kind\` in ('budget', 'rate')) not null, \`amount_usd\` double null, \`period\` text check (\`period\` in ('hour', 'day', 'month', 'total')) null, \`requests_per_minute\` integer null, \`created_at\` datetime not null);`);
    this.addSql(`create index \`limits_project_id_index\` on \`limits\` (\`project_id\`);`);

    this.addSql(`create table \`llm_calls\` (\`id\` text not null primary key, \`project_id\` text not null, \`agent_id\` text not null, \`provider\` text not null, \`model\` text not null, \`status\` text check (\`status\` in ('ok', 'failed')) not null, \`stream\` integer not null default false, \`input_tokens\` integer not null default 0, \`output_tokens\` integer not null default 0, \`cost_micros\` bigint not null default '0', \`latency_ms\` integer not null default 0, \`pii_detections\` integer not null default 0, \`error_code\` text null, \`time\` datetime not null);`);
    this.addSql(`create index \`llm_calls_project_id_index\` on \`llm_calls\` (\`project_id\`);`);
    this.addSql(`create index \`llm_calls_agent_id_index\` on \`llm_calls\` (\`agent_id\`);`);
    this.addSql(`create index \`llm_calls_provider_index\` on \`llm_calls\` (\`provider\`);`);
    this.addSql(`create index \`llm_calls_model_index\` on \`llm_calls\` (\`model\`);`);
    this.addSql(`create index \`llm_calls_time_index\` on \`llm_calls\` (\`time\`);`);
    this.addSql(`create index \`llm_calls_project_id_time_index\` on \`llm_calls\` (\`project_id\`, \`time\`);`);

    this.addSql(`create table \`memberships\` (\`id\` text not null primary key, \`user_id\` text not null, \`project_id\` text not null);`);
    this.addSql(`create index \`memberships_user_id_index\` on \`memberships\` (\`user_id\`);`);
    this.addSql(`create index \`memberships_project_id_index\` on \`memberships\` (\`project_id\`);`);
    this.addSql(`create unique index \`memberships_user_id_project_id_unique\` on \`memberships\` (\`user_id\`, \`project_id\`);`);

    this.addSql(`create table \`projects\` (\`id\` text not null primary key, \`name\` text not null, \`store_prompts\` integer not null default false, \`created_at\` datetime not null);`);
    this.addSql(`create unique index \`projects_name_unique\` on \`projects\` (\`name\`);`);

    this.addSql(`create table \`sessions\` (\`id\` text not null primary key, \`user_id\` text not null, \`family\` text not null, \`token_hash\` text not null, \`expires_at\` datetime not null, \`rotated_at\` datetime null, \`revoked_at\` datetime null, \`created_at\` datetime not null);`);
    this.addSql(`create index \`sessions_user_id_index\` on \`sessions\` (\`user_id\`);`);
    this.addSql(`create index \`sessions_family_index\` on \`sessions\` (\`family\`);`);
    this.addSql(`create unique index \`sessions_token_hash_unique\` on \`sessions\` (\`token_hash\`);`);

    this.addSql(`create table \`settings\` (\`key\` text not null primary key, \`value\` text not null);`);

    this.addSql(`create table \`users\` (\`id\` text not null primary key, \`email\` text not null, \`password_hash\` text not null, \`role\` text check (\`role\` in ('admin', 'member', 'viewer')) not null, \`failed_logins\` integer not null default 0, \`locked_until\` datetime null, \`created_at\` datetime not null);`);
    this.addSql(`create unique index \`users_email_unique\` on \`users\` (\`email\`);`);

    this.addSql(`create table \`webhooks\` (\`id\` text not null primary key, \`project_id\` text not null, \`url\` text not null, \`events\` json not null, \`secret\` text not null, \`created_at\` datetime not null);`);
    this.addSql(`create index \`webhooks_project_id_index\` on \`webhooks\` (\`project_id\`);`);

    this.addSql(`create table \`webhook_deliveries\` (\`id\` text not null primary key, \`webhook_id\` text not null, \`event_id\` text not null, \`event_type\` text not null, \`status\` text check (\`status\` in ('pending', 'delivered', 'failed')) not null, \`attempts\` integer not null default 0, \`response_status\` integer null, \`last_error\` text null, \`next_attempt_at\` datetime null, \`created_at\` datetime not null, \`delivered_at\` datetime null);`);
    this.addSql(`create index \`webhook_deliveries_webhook_id_index\` on \`webhook_deliveries\` (\`webhook_id\`);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists \`agents\`;`);
    this.addSql(`drop table if exists \`api_tokens\`;`);
    this.addSql(`drop table if exists \`events\`;`);
    this.addSql(`drop table if exists \`limits\`;`);
    this.addSql(`drop table if exists \`llm_calls\`;`);
    this.addSql(`drop table if exists \`memberships\`;`);
    this.addSql(`drop table if exists \`projects\`;`);
    this.addSql(`drop table if exists \`sessions\`;`);
    this.addSql(`drop table if exists \`settings\`;`);
    this.addSql(`drop table if exists \`users\`;`);
    this.addSql(`drop table if exists \`webhooks\`;`);
    this.addSql(`drop table if exists \`webhook_deliveries\`;`);
  }

}
