import { Migration } from '@mikro-orm/migrations';

export class Migration20261125160651_initial extends Migration {

  override name = 'Migration20261125160651_initial';

  override up(): void | Promise<void> {
    this.addSql(`create table "agents" ("id" uuid not null, "project_id" uuid not null, "name" varchar(255) not null, "kind" varchar(255) not null, "status" varchar(255) not null, "started_at" timestamptz not null, "stopped_at" timestamptz null, "last_event_at" timestamptz not null, "calls" int not null default 0, "failed_calls" int not null default 0, "input_tokens" bigint not null default '0', "output_tokens" bigint not null default '0', "cost_micros" bigint not null default '0', "pii_detections" int not null default 0, primary key ("id"));`);
    this.addSql(`create index "agents_project_id_index" on "agents" ("project_id");`);

    this.addSql(`create table "api_tokens" ("id" uuid not null, "name" varchar(255) not null, "project_id" uuid not null, "token_hash" varchar(255) not null, "prefix" varchar(255) not null, "created_by" uuid null, "expires_at" timestamptz null, "revoked_at" timestamptz null, "last_used_at" timestamptz null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "api_tokens_project_id_index" on "api_tokens" ("project_id");`);
    this.addSql(`alter table "api_tokens" add constraint "api_tokens_token_hash_unique" unique ("token_hash");`);

    this.addSql(`create table "events" ("id" varchar(255) not null, "project_id" uuid not null, "agent_id" uuid null, "type" varchar(255) not null, "time" timestamptz not null, "payload" jsonb not null, primary key ("id"));`);
    this.addSql(`create index "events_project_id_index" on "events" ("project_id");`);
    this.addSql(`create index "events_agent_id_index" on "events" ("agent_id");`);
    this.addSql(`create index "events_type_index" on "events" ("type");`);
    this.addSql(`create index "events_time_index" on "events" ("time");`);

    this.addSql(`create table "limits" ("id" uuid not null, "project_id" uuid not null, "scope" text not null, "target" varchar(255) not null default '', "kind" text not null, "amount_usd" double precision null, "period" text null, "requests_per_minute" int null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "limits_project_id_index" on "limits" ("project_id");`);

    this.addSql(`create table "llm_calls" ("id" varchar(255) not null, "project_id" uuid not null, "agent_id" uuid not null, "provider" varchar(255) not null, "model" varchar(255) not null, "status" text not null, "stream" boolean not null default false, "input_tokens" int not null default 0, "output_tokens" int not null default 0, "cost_micros" bigint not null default '0', "latency_ms" int not null default 0, "pii_detections" int not null default 0, "error_code" varchar(255) null, "time" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "llm_calls_project_id_index" on "llm_calls" ("project_id");`);
    this.addSql(`create index "llm_calls_agent_id_index" on "llm_calls" ("agent_id");`);
    this.addSql(`create index "llm_calls_provider_index" on "llm_calls" ("provider");`);
    this.addSql(`create index "llm_calls_model_index" on "llm_calls" ("model");`);
    this.addSql(`create index "llm_calls_time_index" on "llm_calls" ("time");`);
    this.addSql(`create index "llm_calls_project_id_time_index" on "llm_calls" ("project_id", "time");`);

    this.addSql(`create table "memberships" ("id" uuid not null, "user_id" uuid not null, "project_id" uuid not null, primary key ("id"));`);
    this.addSql(`create index "memberships_user_id_index" on "memberships" ("user_id");`);
    this.addSql(`create index "memberships_project_id_index" on "memberships" ("project_id");`);
    this.addSql(`alter table "memberships" add constraint "memberships_user_id_project_id_unique" unique ("user_id", "project_id");`);

    this.addSql(`create table "projects" ("id" uuid not null, "name" varchar(255) not null, "store_prompts" boolean not null default false, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "projects" add constraint "projects_name_unique" unique ("name");`);

    this.addSql(`create table "sessions" ("id" uuid not null, "user_id" uuid not null, "family" uuid not null, "token_hash" varchar(255) not null, "expires_at" timestamptz not null, "rotated_at" timestamptz null, "revoked_at" timestamptz null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "sessions_user_id_index" on "sessions" ("user_id");`);
    this.addSql(`create index "sessions_family_index" on "sessions" ("family");`);
    this.addSql(`alter table "sessions" add constraint "sessions_token_hash_unique" unique ("token_hash");`);

    this.addSql(`create table "settings" ("key" varchar(255) not null, "value" text not null, primary key ("key"));`);

    this.addSql(`create table "users" ("id" uuid not null, "email" varchar(255) not null, "password_hash" varchar(255) not null, "role" text not null, "failed_logins" int not null default 0, "locked_until" timestamptz null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);

    this.addSql(`create table "webhooks" ("id" uuid not null, "project_id" uuid not null, "url" varchar(255) not null, "events" jsonb not null, "secret" varchar(255) not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "webhooks_project_id_index" on "webhooks" ("project_id");`);

    this.addSql(`create table "webhook_deliveries" ("id" uuid not null, "webhook_id" uuid not null, "event_id" varchar(255) not null, "event_type" varchar(255) not null, "status" text not null, "attempts" int not null default 0, "response_status" int null, "last_error" varchar(255) null, "next_attempt_at" timestamptz null, "created_at" timestamptz not null, "delivered_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "webhook_deliveries_webhook_id_index" on "webhook_deliveries" ("webhook_id");`);

    this.addSql(`alter table "limits" add constraint "limits_scope_check" check ("scope" in ('project', 'agent', 'provider', 'model'));`);
    this.addSql(`alter table "limits" add constraint "limits_kind_check" check ("kind" in ('budget', 'rate'));`);
    this.addSql(`alter table "limits" add constraint "limits_period_check" check ("period" in ('hour', 'day', 'month', 'total'));`);

    this.addSql(`alter table "llm_calls" add constraint "llm_calls_status_check" check ("status" in ('ok', 'failed'));`);

    this.addSql(`alter table "users" add constraint "users_role_check" check ("role" in ('admin', 'member', 'viewer'));`);

    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_status_check" check ("status" in ('pending', 'delivered', 'failed'));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "agents" cascade;`);
    this.addSql(`drop table if exists "api_tokens" cascade;`);
    this.addSql(`drop table if exists "events" cascade;`);
    this.addSql(`drop table if exists "limits" cascade;`);
    this.addSql(`drop table if exists "llm_calls" cascade;`);
    this.addSql(`drop table if exists "memberships" cascade;`);
    this.addSql(`drop table if exists "projects" cascade;`);
    this.addSql(`drop table if exists "sessions" cascade;`);
    this.addSql(`drop table if exists "settings" cascade;`);
    this.addSql(`drop table if exists "users" cascade;`);
    this.addSql(`drop table if exists "webhooks" cascade;`);
    this.addSql(`drop table if exists "webhook_deliveries" cascade;`);
  }

}
