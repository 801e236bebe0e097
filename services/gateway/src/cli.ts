/**
 * Account administration.
 *   pnpm --filter @selfie/gateway account:create [--name <name>] [--key test_<alnum>|live_<alnum>] [--live]
 *   tsx src/cli.ts disable <accountId> | enable <accountId>
 *   tsx src/cli.ts retention <accountId> <days>|off|default
 *     the account's own retention period: photos and events erased <days> after creation (fractions allowed), kept
 *     until deleted (off), or RETENTION_DAYS (default)
 *   tsx src/cli.ts repeat-face <accountId> on|off
 *     repeat-face search for the account's new uploads (needs REPEAT_FACE_ENABLED too); `off` also erases the
 *     account's stored face embeddings
 * Prints the API key once: only its sha256 hash is stored.
 */
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '@selfie/config';
import { AccountRepository, connectMongo, FaceEmbeddingRepository, generateApiKey } from '@selfie/db';

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { name: { type: 'string' }, key: { type: 'string' }, live: { type: 'boolean' } },
  });
  const [command, arg, value] = positionals;
  const config = loadConfigOrExit();
  const connection = await connectMongo(config.MONGODB_URI, { timeoutMs: config.BACKING_TIMEOUT_MS });
  try {
    const accounts = new AccountRepository(connection);
    await accounts.init();
    switch (command) {
      case 'create': {
        const key = values.key ?? generateApiKey(values.live ? 'live' : 'test');
        const { account } = await accounts.createWithKey({ name: values.name ?? 'default', key });
        process.stdout.write(`account ${account._id.toHexString()} (${account.name})\nAPI key: ${key}\n`);
        return 0;
      }
      case 'disable':
      case 'enable': {
        if (!arg || !/^[0-9a-f]{24}$/.test(arg)) throw new Error(`usage: ${command} <accountId>`);
        if (!(await accounts.findById(arg))) throw new Error(`no account ${arg}`);
        await accounts.setEnabled(arg, command === 'enable');
        process.stdout.write(`account ${arg} ${command}d\n`);
        return 0;
      }
      case 'retention': {
        const days = value === 'default' ? null : value === 'off' ? 0 : Number(value);
        if (!arg || !/^[0-9a-f]{24}$/.test(arg) || value === undefined || (days !== null && !(days >= 0))) {
          throw new Error('usage: retention <accountId> <days>|off|default');
        }
        if (!(await accounts.findById(arg))) throw new Error(`no account ${arg}`);
        await accounts.setRetentionDays(arg, days);
        const what =
          days === null ? 'RETENTION_DAYS (default)' : days === 0 ? 'off, kept until deleted' : `${days} day(s)`;
        process.stdout.write(`account ${arg}: retention ${what}\n`);
        return 0;
      }
      case 'repeat-face': {
        if (!arg || !/^[0-9a-f]{24}$/.test(arg) || (value !== 'on' && value !== 'off')) {
          throw new Error('usage: repeat-face <accountId> on|off');
        }
        if (!(await accounts.findById(arg))) throw new Error(`no account ${arg}`);
        await accounts.setRepeatFace(arg, value === 'on');
        if (value === 'off') {
          // Templates are kept only for the search they were collected for: turning it off erases them.
          const embeddings = new FaceEmbeddingRepository(connection);
          await embeddings.init();
          const erased = await embeddings.deleteForAccount(arg);
          process.stdout.write(`account ${arg}: repeat-face search off, ${erased} face embedding(s) erased\n`);
        } else {
          const note = config.REPEAT_FACE_ENABLED ? '' : ' (inactive until REPEAT_FACE_ENABLED=true)';
          process.stdout.write(`account ${arg}: repeat-face search on for new uploads${note}\n`);
        }
        return 0;
      }
      default:
        process.stderr.write(
          'usage: cli.ts create [--name x] [--key test_...] [--live] | disable <id> | enable <id> | retention <id> <days>|off|default | repeat-face <id> on|off\n',
        );
        return 2;
    }
  } finally {
    await connection.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
