// Where webhooks may post. A member's webhook must not become the server's way into its own network (port scans
// read back through /deliveries, signed POSTs to internal services): targets are public `https` URLs, and the address
// a name resolves to is checked again when the connection is made, so DNS cannot swap in a private one later.
// Self-hosted setups that deliver inside their network allow private targets with IRON_WEBHOOK_ALLOW_PRIVATE=1.
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { badRequest } from '../errors.ts';

/** Loopback, private, link-local, shared (CGNAT), multicast, reserved and documentation ranges, v4 and v6. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) PRIVATE.addSubnet(net, prefix, 'ipv4');
// (::/96 holds the deprecated IPv4-compatible addresses, ::ffff:0:0:0/96 the IPv4-translated ones, fec0::/10 the old
// site-local ones, 2001::/32 Teredo tunnels, 64:ff9b:1::/48 local NAT64.)
for (const [net, prefix] of [['::', 96], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['2001:db8::', 32], ['2001::', 32], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['::ffff:0:0:0', 96], ['fec0::', 10]] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

/** The 16 bytes of an IPv6 address (`isIP` said it is one), a trailing dotted IPv4 part included. */
function ipv6Words(address: string): number[] {
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const words = [...left, ...Array.from({ length: 8 - left.length - right.length }, () => '0'), ...right];
  return words.map((word) => Number.parseInt(word || '0', 16));
}

/** The IPv4 address a 6to4 address (2002:AABB:CCDD::/48) carries. */
function sixToFourV4(address: string): string | undefined {
  const words = ipv6Words(address);
  if (words[0] !== 0x2002) return undefined;
  return [words[1]! >> 8, words[1]! & 0xff, words[2]! >> 8, words[2]! & 0xff].join('.');
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  if (family !== 6) return false;
  // An IPv4 address written as IPv6 (::ffff:127.0.0.1) is that IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4');
  // So is the IPv4 address inside a 6to4 one: 2002:7f00:1:: reaches 127.0.0.1 through a relay.
  const tunnelled = sixToFourV4(address);
  if (tunnelled !== undefined && PRIVATE.check(tunnelled, 'ipv4')) return true;
  return PRIVATE.check(address, 'ipv6');
}

export function allowPrivateTargets(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.IRON_WEBHOOK_ALLOW_PRIVATE === '1' || env.IRON_WEBHOOK_ALLOW_PRIVATE === 'true';
}

/** A URL's host without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** Checks a webhook URL at creation: a 400 naming `body/url` when it is not a public https URL (unless allowed). */
export function checkWebhookUrl(value: string, allowPrivate: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badRequest('body/url: not a valid URL', { path: 'body/url' });
  }
  if (url.username || url.password) throw badRequest('body/url: must not carry a user name or password', { path: 'body/url' });
  if (allowPrivate) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest('body/url: must be an http or https URL', { path: 'body/url' });
    return url.toString();
  }
  if (url.protocol !== 'https:') throw badRequest('body/url: must be an https URL (plain http is allowed only when the server sets IRON_WEBHOOK_ALLOW_PRIVATE=1)', { path: 'body/url' });
  const host = hostOf(url);
  if (isPrivateAddress(host) || host === 'localhost' || host.endsWith('.localhost')) {
    throw badRequest(`body/url: ${host} is a private or local address; webhooks go to public hosts (a self-hosted server can set IRON_WEBHOOK_ALLOW_PRIVATE=1)`, { path: 'body/url' });
  }
  return url.toString();
}

/** Why a delivery to this URL may not be sent now (an IP-literal host is not looked up, so it is checked here). */
export function refusedTarget(value: string, allowPrivate: boolean): string | undefined {
  if (allowPrivate) return undefined;
  const url = new URL(value);
  if (url.protocol !== 'https:') return 'refused: webhooks go to https URLs only';
  const host = hostOf(url);
  if (isPrivateAddress(host) || host === 'localhost') return `refused: ${host} is a private or local address`;
  return undefined;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup, refusing names that resolve to a private address: the check happens on the address actually dialled. */
function publicLookup(hostname: string, options: LookupOptions | LookupAllOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '');
    const blocked = addresses.find((entry) => isPrivateAddress(entry.address));
    if (blocked) {
      // Which address is not said: members read this error, and the server's resolver must not map internal names for them.
      const refused = Object.assign(new Error(`refused: ${hostname} resolves to a private address (webhooks go to public targets; IRON_WEBHOOK_ALLOW_PRIVATE=1 allows private ones)`), { code: 'IRON_PRIVATE_ADDRESS' });
      return callback(refused, '');
    }
    if ((options as LookupAllOptions).all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

/** The HTTP client deliveries go through: public addresses only (unless allowed), no redirects, bounded sockets. */
export function deliveryDispatcher(allowPrivate: boolean): Dispatcher {
  return new Agent({ connections: 4, ...(allowPrivate ? {} : { connect: { lookup: publicLookup as never } }) });
}
