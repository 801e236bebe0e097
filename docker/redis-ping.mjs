// Container healthcheck for the stage workers, the finalizer and the webhook dispatcher, which serve no HTTP.
// It answers "can this container reach the Redis its queues live in": it sends PING (after AUTH when REDIS_URL
// carries credentials) to REDIS_URL and exits 0 on +PONG, 1 on anything else or after a 3 s timeout.
// Plain TCP with the Redis protocol, so it needs no package from node_modules; rediss:// (TLS) is not handled.
//
//   node /usr/local/lib/selfie/redis-ping.mjs            (reads REDIS_URL)
//   node docker/redis-ping.mjs redis://127.0.0.1:6390    (URL as argument, for trying it by hand)
import net from 'node:net';

const TIMEOUT_MS = 3000;

/** One Redis command in RESP, the form that is safe for any byte in the arguments. */
function command(...args) {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

function fail(reason) {
  process.stderr.write(`redis-ping: ${reason}\n`);
  process.exit(1);
}

const raw = process.argv[2] ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
let url;
try {
  url = new URL(raw);
} catch {
  fail('REDIS_URL is not a URL');
}
if (url.protocol !== 'redis:') fail(`unsupported protocol ${url.protocol}`);

let request = '';
if (url.password) {
  const password = decodeURIComponent(url.password);
  request += url.username ? command('AUTH', decodeURIComponent(url.username), password) : command('AUTH', password);
}
request += command('PING');

const socket = net.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 6379) });
socket.setTimeout(TIMEOUT_MS, () => fail(`no answer within ${TIMEOUT_MS} ms`));
socket.on('error', (err) => fail(err.message));
socket.on('connect', () => socket.write(request));

// Replies come in the order of the commands, one line each here: any error (a refused AUTH, LOADING, ...) fails,
// even when the PONG after it arrives in the same chunk.
let received = '';
socket.on('data', (chunk) => {
  received += chunk.toString('utf8');
  let end = received.indexOf('\r\n');
  while (end !== -1) {
    const reply = received.slice(0, end);
    received = received.slice(end + 2);
    if (reply.startsWith('-')) fail(reply.slice(1));
    if (reply === '+PONG') {
      socket.destroy();
      process.exit(0);
    }
    end = received.indexOf('\r\n');
  }
});
socket.on('end', () => fail('connection closed before PONG'));
