import { createHmac } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** `ComplyCube-Signature`: lowercase hex HMAC-SHA256 of the exact body bytes, keyed with the webhook secret. */
export function signBody(secret: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Addresses a webhook must not reach unless WEBHOOK_ALLOW_PRIVATE: loopback, private, link-local, CGNAT, ... */
const privateRanges = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  privateRanges.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  privateRanges.addSubnet(net, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return privateRanges.check(address, 'ipv4');
  if (family === 6) {
    // IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged by its IPv4 address.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1]) return privateRanges.check(mapped[1], 'ipv4');
    return privateRanges.check(address, 'ipv6');
  }
  return true;
}

export class BlockedAddressError extends Error {
  readonly code = 'EBLOCKEDADDRESS';
  constructor(host: string, address: string) {
    super(`webhook host '${host}' resolves to a private or loopback address (${address})`);
    this.name = 'BlockedAddressError';
  }
}

/**
 * DNS lookup used by the socket itself, so the address checked is the address connected to (no window for DNS
 * rebinding between a check and the connection).
 */
function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as unknown as { address: string; family: number }[];
      const blocked = allowPrivate ? undefined : list.find((a) => isPrivateAddress(a.address));
      if (blocked) return callback(new BlockedAddressError(hostname, blocked.address), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
      const first = list[0];
      if (!first) return callback(new Error(`no address for ${hostname}`), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

export interface DeliveryResult {
  ok: boolean;
  statusCode?: number;
  latencyMs: number;
  error?: string;
}

export interface DeliverOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  headers?: Record<string, string>;
}

/**
 * One POST of `body`. A 2xx within the timeout is a success; anything else (3xx included: redirects are never
 * followed, so a receiver cannot bounce us to an internal address) is a failure with a reason.
 */
export function postWebhook(url: string, body: string, options: DeliverOptions): Promise<DeliveryResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve({ ok: false, latencyMs: 0, error: `invalid webhook URL` });
      return;
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      resolve({ ok: false, latencyMs: 0, error: `unsupported URL scheme ${target.protocol}` });
      return;
    }
    // Literal IPs skip DNS (and so the guarded lookup): check them here.
    const host = target.hostname.replace(/^\[|\]$/g, '');
    if (!options.allowPrivate && isIP(host) && isPrivateAddress(host)) {
      resolve({ ok: false, latencyMs: 0, error: new BlockedAddressError(host, host).message });
      return;
    }
    const client = target.protocol === 'https:' ? https : http;
    let settled = false;
    const finish = (result: DeliveryResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = client.request(
      target,
      {
        method: 'POST',
        lookup: guardedLookup(options.allowPrivate),
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': String(Buffer.byteLength(body)),
          'User-Agent': 'selfie-inspect-webhooks/1',
          ...options.headers,
        },
        agent: false,
      },
      (res) => {
        const statusCode = res.statusCode ?? 0;
        // Drain (bounded by the timeout) so the socket closes; the receiver's body is not needed.
        res.resume();
        res.on('end', () => {
          const ok = statusCode >= 200 && statusCode < 300;
          finish({
            ok,
            statusCode,
            latencyMs: elapsed(),
            ...(ok
              ? {}
              : {
                  error:
                    statusCode >= 300 && statusCode < 400
                      ? `redirect ${statusCode} not followed`
                      : `HTTP ${statusCode}`,
                }),
          });
        });
        res.on('error', (err) => finish({ ok: false, statusCode, latencyMs: elapsed(), error: err.message }));
      },
    );
    const timer = setTimeout(() => {
      finish({ ok: false, latencyMs: elapsed(), error: `timed out after ${options.timeoutMs} ms` });
      req.destroy();
    }, options.timeoutMs);
    req.on('error', (err) => finish({ ok: false, latencyMs: elapsed(), error: err.message }));
    req.end(body);
  });
}
