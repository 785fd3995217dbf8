// A custom plugin: refuse calls to models that are not on an allow-list, and cap output tokens per call.
// Loaded from YAML (examples/allowlist.config.yaml):  plugins: [{ name: ./plugins/model-allowlist.ts, options: {...} }]
// In your own project: import { definePlugin, IronError, IRON_BAD_REQUEST, Type } from 'iron-cage';
import { definePlugin, IronError, IRON_BAD_REQUEST, Type } from '../../core/index.ts';

export default definePlugin({
  name: 'model-allowlist',
  options: Type.Object(
    {
      models: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
      maxTokensPerCall: Type.Optional(Type.Integer({ minimum: 1 })),
    },
    { additionalProperties: false },
  ),
  apply(runtime, { models, maxTokensPerCall }) {
    runtime.hooks.beforeLlmCall.tapPromise('model-allowlist', async (request) => {
      if (!models.includes(request.model)) {
        throw new IronError(IRON_BAD_REQUEST, `model "${request.model}" is not allowed here (allowed: ${models.join(', ')})`, {
          status: 403,
          details: { model: request.model },
        });
      }
      if (maxTokensPerCall === undefined) return request;
      return { ...request, maxOutputTokens: Math.min(request.maxOutputTokens ?? maxTokensPerCall, maxTokensPerCall) };
    });
  },
});
