// The floor for any gateway written on Node's HTTP stack: a proxy that only forwards (node:http server, undici
// client, no parsing, no hooks, no accounting). It is measured next to the Iron Cage gateway so that the "% of
// direct" figures can be read against what Node itself allows on the same machine. Prints {url} once listening.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

const [upstream] = process.argv.slice(2);
if (!upstream) throw new Error('usage: bare-proxy.ts <upstream base url>');

const dispatcher = new Agent({ keepAliveTimeout: 65_000 });
const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    request(`${upstream}${req.url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer bench-key' },
      body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks),
      dispatcher,
    })
      .then(async (answer) => {
        const type = String(answer.headers['content-type'] ?? 'application/json');
        // Streams are passed on as they arrive; a JSON answer is read whole and written in one go.
        if (type.includes('text/event-stream')) {
          res.writeHead(answer.statusCode, { 'content-type': type });
          for await (const chunk of answer.body) res.write(chunk);
          res.end();
        } else {
          const body = Buffer.from(await answer.body.arrayBuffer());
          res.writeHead(answer.statusCode, { 'content-type': type });
          res.end(body);
        }
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
