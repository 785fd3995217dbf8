// Runs the fake provider as its own process (benchmarks, manual tries): prints {"url": …} on stdout, stops on SIGTERM.
import { startFakeProvider } from './index.ts';

const port = Number(process.env.FAKE_PROVIDER_PORT ?? 0);
const fake = await startFakeProvider({ record: false, port, ...(process.env.FAKE_LATENCY_MS ? { latencyMs: Number(process.env.FAKE_LATENCY_MS) } : {}) });
console.log(JSON.stringify({ url: fake.url }));
const stop = () => void fake.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
