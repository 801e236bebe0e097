/**
 * Account administration.
 *   pnpm --filter @selfie/gateway account:create [--name <name>] [--key test_<alnum>|live_<alnum>] [--live]
 *   tsx src/cli.ts disable <accountId> | enable <accountId>
 * Prints the API key once: only its sha256 hash is stored.
 */
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '@selfie/config';
import { AccountRepository, connectMongo, generateApiKey } from '@selfie/db';

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { name: { type: 'string' }, key: { type: 'string' }, live: { type: 'boolean' } },
  });
  const [command, arg] = positionals;
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
      default:
        process.stderr.write(
          'usage: cli.ts create [--name x] [--key test_...] [--live] | disable <id> | enable <id>\n',
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
