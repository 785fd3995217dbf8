// The commented starter config `iron init` writes. Every line is valid as is; uncomment what you need.

export function configTemplate(): string {
  return `# Iron Cage configuration. Reference: README.md#configuration
# yaml-language-server: $schema=./node_modules/iron-cage/iron.config.schema.json
#
# Values may use environment variables: \${OPENAI_API_KEY}, or with a default: \${MODEL:-gpt-4o-mini}.

# How much the runtime logs to stderr (readable lines on a terminal, pino JSON lines otherwise): fatal, error, warn, info, debug, trace or silent.
logLevel: warn

# Upstream providers. Without any, OPENAI_API_KEY / ANTHROPIC_API_KEY (and IRON_OPENAI_BASE_URL /
# IRON_ANTHROPIC_BASE_URL) are used when set, and the offline "simulated" provider answers otherwise.
# providers:
#   openai:
#     type: openai
#     apiKey: \${OPENAI_API_KEY}
#   anthropic:
#     type: anthropic
#     apiKey: \${ANTHROPIC_API_KEY}
#   local:                        # any OpenAI-compatible server: vLLM, Ollama, LM Studio…
#     type: openai-compatible
#     baseUrl: http://127.0.0.1:11434/v1
#     models: ["llama3*", "qwen*"]

# Hard spending caps in USD (needs the cost plugin).
# budget:
#   limit: 5        # per agent
#   total: 50       # for the whole runtime

# Personal data and secrets in prompts and answers (the safety plugin; remove the section to turn it off).
# Defaults: prompts get emails, phones, cards, SSNs, IBANs and IPs pseudonymized (<EMAIL_ADDRESS_1>, values
# restored in the answer) and secrets redacted; answers get new cards, SSNs, IBANs and secrets redacted.
# Actions: off, detect, redact, mask (****1234), pseudonymize, block. Try it: npx iron scan notes.txt
safety:
  minScore: 0.5
#   entities:
#     CREDIT_CARD: { input: block, output: mask }
#     PERSON: pseudonymize          # names: opt-in, slower
#   allow: [support@example.com, '/@example\\.com$/']   # single quotes keep backslashes
#   recognizers:
#     - type: EMPLOYEE_ID
#       pattern: '\\bEMP-\\d{6}\\b'
#       context: [employee, staff]
#       score: 0.7

# Failing providers do not take agents down (the reliability plugin; remove the section to turn it off):
# retries with backoff for transient failures, a circuit breaker per provider and model, timeouts, fallbacks.
reliability:
  retries:
    maxAttempts: 3          # per model, the first included
  timeouts:
    attemptMs: 25000        # one attempt (a stream: until its first content)
    firstTokenMs: 10000     # a stream's first content, from the moment the request is sent
    idleMs: 10000           # silence inside a stream: it is continued (streamRecovery) or ends with IRON_TIMEOUT
  breaker:
    consecutiveFailures: 5
    cooldownMs: 30000       # open → one probe call after this long
#   fallbacks:
#     gpt-4o: [gpt-4o-mini, anthropic/claude-sonnet-4-6]   # across providers too: the request is translated
#   contextFallbacks:
#     gpt-4o-mini: [gpt-4.1]                             # when the prompt is too long for the model

# Report to an Iron Cage server (the sync plugin; \`iron run\` also turns it on when IRON_SERVER_URL is set).
# sync:
#   server: \${IRON_SERVER_URL}        # e.g. http://127.0.0.1:8787 (npx iron server)
#   token: \${IRON_TOKEN}              # an API token of the project
#   leases: { trancheUsd: 0.10 }      # server budgets: borrowed in tranches, shared by all runtimes
#   offline: lease                    # server away: spend only what the lease holds (or: block)

# The local gateway process agents talk to (OPENAI_BASE_URL / ANTHROPIC_BASE_URL point at it).
gateway:
  host: 127.0.0.1
  port: 0               # 0: a free port
  maxBodyBytes: 10485760 # 10 MiB

agents:
  stopGraceMs: 5000     # SIGTERM, then SIGKILL after this long

# Your own plugins, by relative path or package name, each with its options.
# plugins:
#   - ./plugins/model-allowlist.ts
#   - name: ./plugins/model-allowlist.ts
#     options:
#       models: [gpt-4o-mini]
`;
}
